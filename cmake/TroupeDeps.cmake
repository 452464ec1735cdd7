# Dependencies: Debian's packages only, found through pkg-config.  They are
# gathered in one INTERFACE target so every module links the same set.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(CK      REQUIRED IMPORTED_TARGET ck>=0.7)
pkg_check_modules(LIBUV   REQUIRED IMPORTED_TARGET libuv>=1.44)
pkg_check_modules(MSGPACK REQUIRED IMPORTED_TARGET msgpack>=4.0)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson>=2.13)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis>=0.14)
pkg_check_modules(LWS     REQUIRED IMPORTED_TARGET libwebsockets>=4.1)

add_library(troupe_deps INTERFACE)
target_link_libraries(troupe_deps INTERFACE
  PkgConfig::CK PkgConfig::LIBUV PkgConfig::MSGPACK PkgConfig::JANSSON
  PkgConfig::HIREDIS PkgConfig::LWS Threads::Threads m)
# uv.h needs POSIX declarations that strict -std=c17 hides.
target_compile_definitions(troupe_deps INTERFACE _GNU_SOURCE)

if(TROUPE_BUILD_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka>=1.1)
endif()

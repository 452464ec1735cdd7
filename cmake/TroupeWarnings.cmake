# Warnings and sanitizers, applied to everything troupe compiles itself.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wno-unused-parameter
                    -Wformat=2 -Wvla)
if(TROUPE_WERROR)
  add_compile_options(-Werror)
endif()

if(TROUPE_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(TROUPE_SANITIZER STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # TSan cannot see Concurrency Kit's inline-assembly atomics; runtime/atomics.h
  # switches to the compiler's __atomic builtins, which TSan models.
  add_compile_definitions(TR_ATOMICS_BUILTINS=1)
elseif(NOT TROUPE_SANITIZER STREQUAL "none")
  message(FATAL_ERROR "TROUPE_SANITIZER must be none, address or thread (got '${TROUPE_SANITIZER}')")
endif()

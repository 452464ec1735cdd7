#!/usr/bin/env bash
# tests/install/install_test.sh -- install the build into a scratch prefix and
# consume it the way an embedding service would.
#
#   install_test.sh <binary-dir> <source-dir> <cmake> <c-compiler> [sanitizer]
#
#   1. build the installable targets (a no-op after a full build) and
#      `cmake --install <binary-dir> --prefix <binary-dir>/install-test/prefix`;
#   2. check the installed tree: only the public headers under include/troupe,
#      each self-contained and including only standard headers or troupe/*;
#      libtroupe.so exporting only tr_ symbols (hidden visibility works) and
#      libtroupe.a defining only tr_ globals (no collisions in static links);
#      troupe.pc naming the prefix it was installed to;
#   3. configure and build examples/embed with find_package(troupe) against
#      the prefix (CMAKE_PREFIX_PATH), run it (shared and static) and check
#      its exit status and output;
#   4. build the same main.c with plain cc and `pkg-config --cflags --libs
#      troupe` (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig), run it with
#      LD_LIBRARY_PATH=<prefix>/lib, check again.
#
# [sanitizer] is TROUPE_SANITIZER (none/address/thread): an instrumented
# libtroupe needs the consumer compiled with the same -fsanitize flags.
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: $0 <binary-dir> <source-dir> <cmake> <c-compiler> [sanitizer]" >&2
    exit 2
fi
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
CMAKE=$3
CC_BIN=$4
SAN=${5:-none}

WORK=$BIN/install-test
PREFIX=$WORK/prefix
EXPECT='counter total=5050 down_status=0'
failures=0

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

case "$SAN" in
    address) SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" ;;
    thread) SAN_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" ;;
    *) SAN_FLAGS="" ;;
esac

# Run a built example and check status and output.
run_example() {
    local name=$1
    shift
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | sed "s/^/  [$name] /"
    if [ "$rc" -ne 0 ]; then
        fail "$name exited with status $rc"
    elif ! printf '%s\n' "$out" | grep -qxF "$EXPECT"; then
        fail "$name did not print '$EXPECT'"
    fi
}

# The build is the caller's (ctest runs after a full build): building here
# would relink binaries that tests running in parallel are executing.
step "check the installable targets are built"
for t in "$BIN/libtroupe.so" "$BIN/libtroupe.a" "$BIN/cli/troupe"; do
    [ -e "$t" ] || { echo "FAIL: $t is not built (build the tree before ctest)" >&2; exit 1; }
done

step "install into $PREFIX"
rm -rf "$WORK"
mkdir -p "$WORK"
"$CMAKE" --install "$BIN" --prefix "$PREFIX" >"$WORK/install.log"
sed 's/^/  /' "$WORK/install.log"

# CMAKE_INSTALL_LIBDIR is "lib" unless the build was configured for /usr.
LIBDIR=$PREFIX/lib
if [ ! -e "$LIBDIR/libtroupe.so" ]; then
    LIBDIR=$(dirname "$(find "$PREFIX" -name 'libtroupe.so' -print -quit)")
fi
[ -e "$LIBDIR/libtroupe.so" ] || { echo "FAIL: no libtroupe.so under $PREFIX" >&2; exit 1; }

# ---------------------------------------------------------------------------
step "installed headers: exactly include/troupe/*.h from the source tree"
installed=$(cd "$PREFIX/include" && find . -type f | sed 's|^\./||' | sort)
expected=$(cd "$SRC/include" && find troupe -maxdepth 1 -type f -name '*.h' | sort)
if [ "$installed" != "$expected" ]; then
    fail "installed include/ differs from the public headers"
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$installed") | sed 's/^/  /' >&2 || true
fi
for h in $installed; do
    # Only standard headers and other troupe/ headers.
    bad=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$PREFIX/include/$h" |
        grep -vE '<(stdarg|stdbool|stddef|stdint)\.h>|"troupe/[a-z_]+\.h"' || true)
    [ -z "$bad" ] || fail "$h includes a non-standard header: $bad"
    # Self-contained: compiles alone against the installed tree only.
    if ! printf '#include <%s>\n' "$h" |
        "$CC_BIN" -std=c17 -Wall -Wextra -Werror -fsyntax-only \
            -I"$PREFIX/include" -x c - 2>"$WORK/hdr.err"; then
        fail "$h does not compile on its own"
        sed 's/^/  /' "$WORK/hdr.err" >&2
    fi
done
echo "  $(printf '%s\n' "$installed" | wc -l) headers checked"

# ---------------------------------------------------------------------------
step "exported symbols of libtroupe.so (hidden visibility)"
nm -D --defined-only "$LIBDIR/libtroupe.so" | awk 'NF >= 3 {print $3}' | sort -u >"$WORK/dynsym.txt"
# Linker-provided markers are not troupe's, nor ASan's ODR indicators
# (__odr_asan.<symbol>, one per exported global in an address build);
# anything else must be tr_*.
SAN_SYMS='^__odr_asan[.]tr_'
leaks=$(grep -vE '^(tr_|_init$|_fini$|_edata$|_end$|__bss_start$)' "$WORK/dynsym.txt" |
    grep -vE "$SAN_SYMS" || true)
if [ -n "$leaks" ]; then
    fail "libtroupe.so exports non-tr_ symbols:"
    printf '%s\n' "$leaks" | sed 's/^/  /' >&2
fi
internal=$(grep -E '^tr__' "$WORK/dynsym.txt" || true)
echo "  $(grep -c '^tr_' "$WORK/dynsym.txt") tr_ symbols exported"
[ -z "$internal" ] || echo "  note: internal-prefixed exports (used by inline code in public headers): $(printf '%s\n' "$internal" | paste -sd' ')"

step "global symbols of libtroupe.a (static links must not collide)"
sglobals=$(nm -g --defined-only "$LIBDIR/libtroupe.a" 2>/dev/null | awk 'NF == 3 {print $3}' |
    grep -vE '^tr_' | grep -vE "$SAN_SYMS" | sort -u || true)
if [ -n "$sglobals" ]; then
    fail "libtroupe.a defines non-tr_ global symbols:"
    printf '%s\n' "$sglobals" | sed 's/^/  /' >&2
else
    echo "  every global is tr_*"
fi

# ---------------------------------------------------------------------------
step "CMake consumer: find_package(troupe) with CMAKE_PREFIX_PATH=$PREFIX"
# CFLAGS/LDFLAGS seed CMAKE_C_FLAGS/CMAKE_EXE_LINKER_FLAGS on first configure;
# warnings are errors here too, so public headers stay warning-free for users.
if CFLAGS="-Wall -Wextra -Werror $SAN_FLAGS" LDFLAGS="$SAN_FLAGS" "$CMAKE" -S "$SRC/examples/embed" -B "$WORK/cmake-build" \
    -DCMAKE_C_COMPILER="$CC_BIN" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >"$WORK/cmake-configure.log" 2>&1 &&
    "$CMAKE" --build "$WORK/cmake-build" >"$WORK/cmake-build.log" 2>&1; then
    found=$(grep -E '^troupe_DIR:' "$WORK/cmake-build/CMakeCache.txt" | cut -d= -f2-)
    echo "  troupe_DIR=$found"
    case "$found" in
        "$PREFIX"/*) ;;
        *) fail "find_package found troupe outside the prefix: $found" ;;
    esac
    lib=$(ldd "$WORK/cmake-build/embed" | awk '/libtroupe\.so/ {print $3}')
    echo "  embed uses $lib"
    case "$lib" in
        "$PREFIX"/*) ;;
        *) fail "embed does not load the installed libtroupe.so ($lib)" ;;
    esac
    run_example cmake-shared "$WORK/cmake-build/embed"
    run_example cmake-static "$WORK/cmake-build/embed_static"
else
    fail "examples/embed did not configure/build against the installed package"
    cat "$WORK/cmake-configure.log" "$WORK/cmake-build.log" 2>/dev/null | tail -40 | sed 's/^/  /' >&2
fi

# ---------------------------------------------------------------------------
step "pkg-config consumer: cc \$(pkg-config --cflags --libs troupe)"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
pc_prefix=$(pkg-config --variable=prefix troupe || true)
echo "  troupe.pc: prefix=$pc_prefix"
if [ "$pc_prefix" != "$PREFIX" ] && [ "$(cd "$pc_prefix" 2>/dev/null && pwd -P)" != "$(cd "$PREFIX" && pwd -P)" ]; then
    fail "troupe.pc is not relocatable: it says prefix=$pc_prefix but was installed under $PREFIX" \
        "(cmake/troupe.pc.in bakes CMAKE_INSTALL_PREFIX in at configure time; cmake --install --prefix does not reach it)"
fi
echo "  cflags: $(pkg-config --cflags troupe)"
echo "  libs:   $(pkg-config --libs troupe)"
if make -s -C "$SRC/examples/embed" CC="$CC_BIN" CFLAGS="-O2 -g -Werror $SAN_FLAGS" \
    LDFLAGS="$SAN_FLAGS" OUT="$WORK/embed-pc" >"$WORK/make.log" 2>&1; then
    run_example pkg-config env LD_LIBRARY_PATH="$LIBDIR" "$WORK/embed-pc"
    lib=$(LD_LIBRARY_PATH="$LIBDIR" ldd "$WORK/embed-pc" | awk '/libtroupe\.so/ {print $3}')
    case "$lib" in
        "$PREFIX"/*) ;;
        *) fail "embed-pc does not load the installed libtroupe.so ($lib)" ;;
    esac
else
    fail "examples/embed did not build with pkg-config"
    sed 's/^/  /' "$WORK/make.log" >&2
fi

echo
if [ "$failures" -ne 0 ]; then
    echo "install test: $failures failure(s)" >&2
    exit 1
fi
echo "install test: OK"

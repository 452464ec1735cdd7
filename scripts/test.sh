#!/usr/bin/env bash
# scripts/test.sh -- set up, build with warnings as errors, run every test.
#   scripts/test.sh                 plain build in build/
#   TROUPE_SANITIZER=address|thread scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Test-only dependencies: real clients (npm) and a real browser (Debian's
# chromium), installed before configuring so CMake finds them.
for deps in scripts/test-deps.sh scripts/test-browser.sh; do
  if [ -x "$deps" ]; then
    "$deps"
  fi
done
san="${TROUPE_SANITIZER:-none}"
dir="build"
[ "$san" = none ] || dir="build-$san"
cmake -S . -B "$dir" -DTROUPE_WERROR=ON -DTROUPE_SANITIZER="$san" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure -j2 "$@"

#!/usr/bin/env bash
# scripts/run.sh -- set up, build (Release) and run the main job on embedded
# defaults.  For now that is the runtime benchmark (troupe bench runtime):
# four actor workloads against Concurrency Kit ring ceilings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target troupe
exec build-release/cli/troupe bench runtime "$@"

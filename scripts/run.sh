#!/usr/bin/env bash
# scripts/run.sh -- set up, build (Release) and run the main job on embedded
# defaults: `troupe serve` with the example workflows.  Open
# http://127.0.0.1:8001/ to watch them run (the arbitrage workflow runs every
# second) and to halt them; Ctrl-C stops the host gracefully.  Extra arguments
# go to `troupe serve` (e.g. --listen 127.0.0.1:9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTROUPE_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target troupe
exec build-release/cli/troupe serve --workflows examples/workflows "$@"

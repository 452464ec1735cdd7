#!/bin/sh
# scripts/test-deps.sh -- install what the tests need beyond the build:
# the npm packages of tests/serve/js and bench/node (socket.io-client, ws)
# with `npm ci` from their committed package-lock.json files.  When node/npm
# are missing and we are root, Debian's nodejs and npm packages are installed
# first.  Safe to run twice (npm ci reinstalls the same locked tree).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
    else
        echo "test-deps: node/npm missing and not root: the Socket.IO node test will not run" >&2
        exit 0
    fi
fi
npm ci --prefix "$root/tests/serve/js" --no-audit --no-fund
npm ci --prefix "$root/bench/node" --no-audit --no-fund

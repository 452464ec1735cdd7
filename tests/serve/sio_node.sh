#!/bin/sh
# tests/serve/sio_node.sh TROUPE SRC -- the Socket.IO endpoint against the
# REAL npm socket.io-client 4.x: start `troupe serve` on a free port with a
# temp state_dir, the constant example workflow and an auth token, run
# tests/serve/js/sio_client_test.mjs against it, and kill the server on
# exit.  Fails (never skips) when tests/serve/js/node_modules is missing:
# run scripts/test-deps.sh first.  Every wait is bounded.
set -u
troupe=$1
src=$2
js=$src/tests/serve/js
if [ ! -d "$js/node_modules/socket.io-client" ] || [ ! -d "$js/node_modules/ws" ]; then
    echo "FAIL: $js/node_modules is missing: run scripts/test-deps.sh (npm ci) first"
    exit 1
fi
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server stderr"; head -c 4000 "$tmp/err" 2>/dev/null; exit 1; }

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})') ||
    fail "no free port"
printf '{"state_dir": "%s/state", "server": {"auth_token": "tok"}}\n' "$tmp" >"$tmp/config.json"
mkdir "$tmp/wf"
cp "$src/examples/workflows/constant.json" "$tmp/wf/"
"$troupe" serve --config "$tmp/config.json" --listen "127.0.0.1:$port" --workflows "$tmp/wf" \
    >/dev/null 2>"$tmp/err" &
pid=$!
timeout 60 node "$js/sio_client_test.mjs" "$port" tok constant_demo || fail "sio_client_test.mjs"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && fail "still running 15 s after SIGTERM"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
echo "sio_node: ok"

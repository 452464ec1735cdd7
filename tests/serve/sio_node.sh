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
. "$src/tests/lib/serve.sh"
serve_require_modules "$js" socket.io-client ws
serve_begin
serve_free_port
printf '{"state_dir": "%s/state", "server": {"auth_token": "tok"}}\n' "$tmp" >"$tmp/config.json"
mkdir "$tmp/wf"
cp "$src/examples/workflows/constant.json" "$tmp/wf/"
serve_start --config "$tmp/config.json" --listen "127.0.0.1:$port" --workflows "$tmp/wf"
timeout 60 node "$js/sio_client_test.mjs" "$port" tok constant_demo || fail "sio_client_test.mjs"
serve_stop
echo "sio_node: ok"

#!/bin/sh
# tests/serve/serve_cli.sh TROUPE SRC -- `troupe serve` end to end: start it on
# a free port with the example workflows and a temp state_dir, wait for
# /health, execute constant_demo over HTTP and read its result, check the
# schedule ran arb_btc_001, then SIGTERM -> exit 0 within a bounded time.
# Also: an invalid workflow directory exits 2 before listening.  Every wait
# is bounded and the server is killed on any failure.
set -u
troupe=$1
src=$2
py=${PYTHON3:-python3}
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- stderr"; head -c 4000 "$tmp/err" 2>/dev/null; exit 1; }

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])') ||
    fail "no free port"
printf '{"state_dir": "%s/state", "server": {"auth_token": "tok"}}\n' "$tmp" >"$tmp/config.json"
base=http://127.0.0.1:$port

# HTTP helper: METHOD PATH [BODY] -> prints "<status> <body>".
http() {
    "$py" - "$base" "$@" <<'PY'
import sys, urllib.request, urllib.error
base, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(base + path, data=body, method=method,
                             headers={"Authorization": "Bearer tok"})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except Exception as e:
    print(0, e)
PY
}

cd "$src" || exit 1

# 1. An invalid definition in the directory: exit 2 with the problems.
mkdir "$tmp/bad"
cp examples/workflows/constant.json "$tmp/bad/"
echo '{"id":"broken","nodes":[{"id":"x","type":"nope"}]}' >"$tmp/bad/broken.json"
"$troupe" serve --config "$tmp/config.json" --listen "127.0.0.1:$port" --workflows "$tmp/bad" \
    >/dev/null 2>"$tmp/err" &
pid=$!
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && fail "invalid workflows: still running"
wait "$pid"
rc=$?
pid=
[ $rc -eq 2 ] || fail "invalid workflows: exit $rc, expected 2"
grep -q "broken.json.*nope" "$tmp/err" || fail "invalid workflows: problem not listed"

# 2. The real thing.
"$troupe" serve --config "$tmp/config.json" --listen "127.0.0.1:$port" \
    --workflows examples/workflows >/dev/null 2>"$tmp/err" &
pid=$!
i=0
until [ "$(http GET /health | cut -d' ' -f1)" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || fail "serve exited early"
    i=$((i + 1))
    [ $i -lt 100 ] || fail "/health never answered"
    sleep 0.1
done
grep -q "troupe serve: listening on http://127.0.0.1:$port" "$tmp/err" || fail "no listening line"

out=$(http POST /api/workflows/constant_demo/execute "")
[ "${out%% *}" = 202 ] || fail "execute: $out"
exec_id=$(echo "${out#* }" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["execution_id"])')
i=0
while :; do
    res=$(http GET "/api/executions/$exec_id")
    st=$(echo "${res#* }" | "$py" -c 'import json,sys; print(json.load(sys.stdin).get("status"))' 2>/dev/null)
    [ "$st" = completed ] && break
    i=$((i + 1))
    [ $i -lt 100 ] || fail "execution never completed: $res"
    sleep 0.1
done
echo "${res#* }" | "$py" -c '
import json, sys
r = json.load(sys.stdin)
assert r["result"]["outputs"]["scaled"]["value"] == 109, r' || fail "result: $res"

# The schedule (arb_btc_001 every 1000 ms) runs on its own.
i=0
while :; do
    hist=$(http GET "/api/workflows/arb_btc_001/executions?limit=5")
    n=$(echo "${hist#* }" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
    [ "${n:-0}" -ge 1 ] && break
    i=$((i + 1))
    [ $i -lt 50 ] || fail "schedule never ran: $hist"
    sleep 0.1
done
out=$(http POST /api/workflows/constant_demo/execute)
[ "${out%% *}" = 202 ] || fail "execute without body: $out"

# 3. SIGTERM: exit 0 within 15 s.
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && fail "still running 15 s after SIGTERM"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
grep -q "schedule arb_btc_001" "$tmp/err" || fail "no schedule summary"
echo "serve_cli: ok"

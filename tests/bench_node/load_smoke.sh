#!/bin/sh
# tests/bench_node/load_smoke.sh TROUPE SRC -- smoke test of bench/node/load.mjs:
# start `troupe serve` on a free port with a temp config/state_dir and an auth
# token, run load.mjs --json for 0.3 s with 5 clients over /ws and over
# Socket.IO, and check each exits 0 with one JSON object whose counters add
# up.  Fails (never skips) when bench/node/node_modules is missing: run
# scripts/test-deps.sh first.  Every wait is bounded.
set -u
troupe=$1
src=$2
nd=$src/bench/node
if [ ! -d "$nd/node_modules/socket.io-client" ] || [ ! -d "$nd/node_modules/ws" ]; then
    echo "FAIL: $nd/node_modules is missing: run scripts/test-deps.sh (npm ci) first"
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
printf '{"state_dir": "%s/state", "server": {"auth_token": "tok", "rate_limit": 0}}\n' "$tmp" >"$tmp/config.json"
"$troupe" serve --config "$tmp/config.json" --listen "127.0.0.1:$port" >/dev/null 2>"$tmp/err" &
pid=$!
i=0
until grep -q "listening on" "$tmp/err" 2>/dev/null; do
    [ $i -lt 100 ] || fail "server did not start in 10 s"
    kill -0 "$pid" 2>/dev/null || fail "server exited"
    sleep 0.1
    i=$((i + 1))
done
for proto in ws sio; do
    timeout 60 node "$nd/load.mjs" --url "http://127.0.0.1:$port" --proto "$proto" --clients 5 \
        --rate 1000 --seconds 0.3 --token tok --pid "$pid" --json >"$tmp/out.json" ||
        fail "load.mjs --proto $proto exited $?"
    node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ok = r.proto === process.argv[2] && r.clients === 5 && r.published > 0 &&
  r.expected === r.published * 5 && r.delivered > 0 && r.delivered <= r.expected &&
  typeof r.latency_us.p50 === "number" && typeof r.latency_us.p99 === "number" &&
  typeof r.drops.seq_gaps === "number" && r.server && r.server.rss_kb > 0;
if (!ok) { console.error("bad JSON: " + JSON.stringify(r)); process.exit(1); }
console.log(process.argv[2] + ": " + JSON.stringify(r));' "$tmp/out.json" "$proto" ||
        fail "load.mjs --proto $proto: unexpected JSON"
done
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && fail "still running 15 s after SIGTERM"
wait "$pid"
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
echo "bench_node_smoke: ok"

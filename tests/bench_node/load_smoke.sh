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
. "$src/tests/lib/serve.sh"
serve_require_modules "$nd" socket.io-client ws
serve_begin
serve_free_port
printf '{"state_dir": "%s/state", "server": {"auth_token": "tok", "rate_limit": 0}}\n' "$tmp" >"$tmp/config.json"
serve_start --config "$tmp/config.json" --listen "127.0.0.1:$port"
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
serve_stop
echo "bench_node_smoke: ok"

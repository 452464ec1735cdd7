#!/bin/sh
# bench/node/run.sh [TROUPE] -- run the Node load generator's standard matrix:
# start `troupe serve` (default build/cli/troupe; build it Release) on a free
# port with a temp config/state_dir, run load.mjs with 100 subscribers at
# 1,000/s, 10,000/s and max, over /ws and over Socket.IO, 3 s each, one
# table per run (JSON with JSON=1), then stop the server.  The server config
# is the default (send_queue 1024, slow_client drop, no rate limit); set
# SEND_QUEUE=N to change the per-connection send queue.  Needs
# bench/node/node_modules (scripts/test-deps.sh).  Do not run another
# benchmark at the same time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
troupe=${1:-$root/build/cli/troupe}
clients=${CLIENTS:-100}
seconds=${SECONDS_PER_RUN:-3}
[ -x "$troupe" ] || { echo "run.sh: no troupe binary at $troupe" >&2; exit 2; }
[ -d "$here/node_modules/ws" ] || { echo "run.sh: run scripts/test-deps.sh (npm ci) first" >&2; exit 2; }
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid"
    rm -rf "$tmp"
}
trap cleanup EXIT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})')
printf '{"state_dir": "%s/state", "server": {"auth_token": "tok", "rate_limit": 0, "send_queue": %s}}\n' \
    "$tmp" "${SEND_QUEUE:-1024}" >"$tmp/config.json"
"$troupe" serve --config "$tmp/config.json" --listen "127.0.0.1:$port" >/dev/null 2>"$tmp/err" &
pid=$!
i=0
until grep -q "listening on" "$tmp/err" 2>/dev/null; do
    [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }
    sleep 0.1
    i=$((i + 1))
done
rc=0
for proto in ws sio; do
    for rate in 1000 10000 max; do
        [ -n "${JSON:-}" ] || echo "--- $proto, $clients clients, rate $rate"
        # each run in its own room, so seq starts at 1 for every run
        node "$here/load.mjs" --url "http://127.0.0.1:$port" --proto "$proto" --clients "$clients" \
            --rate "$rate" --seconds "$seconds" --token tok --pid "$pid" --room "bench_${proto}_$rate" \
            ${JSON:+--json} || rc=1
        sleep 1
    done
done
exit $rc

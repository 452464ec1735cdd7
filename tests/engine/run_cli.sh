#!/bin/sh
# tests/engine/run_cli.sh TROUPE SRC -- `troupe run` end to end: stdout holds
# only the events (JSON lines), the summary goes to stderr, exit codes
# 0 (completed), 1 (a workflow failed), 2 (bad usage / invalid input).
set -u
troupe=$1
src=$2
py=${PYTHON3:-/usr/bin/python3}
tmp=$(mktemp -d)
out=$tmp/out err=$tmp/err
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; head -c 4000 "$out"; echo "--- stderr"; head -c 4000 "$err"; exit 1; }

# Every stdout line is a JSON object; prints "<lines> <type>=<count> ..." and
# checks seq is 1..N per workflow and every event names its execution.
check_jsonl() {
    "$py" -c '
import json, sys, collections
lines = sys.stdin.read().splitlines()
evs = [json.loads(l) for l in lines]
assert all(isinstance(e, dict) for e in evs), "not an object"
seqs = collections.defaultdict(list)
for e in evs:
    seqs[e["workflow_id"]].append(e["seq"])
    assert e["execution_id"].startswith("exec_" + e["workflow_id"] + "_"), e
for wf, s in seqs.items():
    assert s == list(range(1, len(s) + 1)), (wf, s)
c = collections.Counter(e["type"] for e in evs)
print(len(evs), " ".join("%s=%d" % kv for kv in sorted(c.items())))
' <"$out"
}

cd "$src" || exit 1

# 1. The example: exit 0, only JSON lines on stdout, the summary on stderr.
"$troupe" run examples/workflows/arb_btc.json --events jsonl >"$out" 2>"$err"
[ $? -eq 0 ] || fail "arb: exit status"
counts=$(check_jsonl) || fail "arb: stdout is not JSON lines"
[ "$counts" = "12 execution_completed=1 execution_started=1 node_completed=5 node_started=5" ] ||
    fail "arb: events: $counts"
grep -q '^troupe run: 1 executions: 1 completed, 0 failed, 0 halted; 12 events' "$err" ||
    fail "arb: summary on stderr"
grep -q 'troupe run:' "$out" && fail "arb: summary on stdout"

# 2. --events none: nothing on stdout, the summary still on stderr.
"$troupe" run examples/workflows/arb_btc.json --events none >"$out" 2>"$err"
[ $? -eq 0 ] || fail "none: exit status"
[ -s "$out" ] && fail "none: stdout not empty"
grep -q '1 completed, 0 failed' "$err" || fail "none: summary"

# 3. --repeat 3 --concurrency 2: three executions, three completions.
"$troupe" run examples/workflows/arb_btc.json --repeat 3 --concurrency 2 >"$out" 2>"$err"
[ $? -eq 0 ] || fail "repeat: exit status"
counts=$(check_jsonl) || fail "repeat: stdout is not JSON lines"
case "$counts" in
*" execution_completed=3 execution_started=3 "*) ;;
*) fail "repeat: events: $counts" ;;
esac
[ "$(grep -c '"type":"execution_completed"' "$out")" -eq 3 ] || fail "repeat: 3 execution_completed"
grep -q '3 executions: 3 completed' "$err" || fail "repeat: summary"

# 4. An invalid definition: exit 2, the problem (file, node, field) on stderr,
#    nothing run.
cat >"$tmp/bad.json" <<'EOF'
{"id":"bad","nodes":[{"id":"t","type":"trade","config":{"side":"buy","symbol":"X","quantitiy":1}}]}
EOF
"$troupe" run "$tmp/bad.json" >"$out" 2>"$err"
[ $? -eq 2 ] || fail "invalid: exit status"
grep -q "bad.json: node 't': config.quantitiy: unknown field" "$err" || fail "invalid: problem"
[ -s "$out" ] && fail "invalid: stdout not empty"
"$troupe" run "$tmp/missing.json" >"$out" 2>"$err"
[ $? -eq 2 ] || fail "missing file: exit status"

# 5. A workflow that fails: exit 1, execution_failed on stdout.
cat >"$tmp/fails.json" <<'EOF'
{"id":"fails","nodes":[
 {"id":"feed","type":"price_feed","retry":{"max_attempts":1},
  "config":{"symbol":"X","start":1,"simulate":{"fail_first":5,"error_type":"ValueError"}}}]}
EOF
"$troupe" run "$tmp/fails.json" >"$out" 2>"$err"
[ $? -eq 1 ] || fail "failing workflow: exit status"
counts=$(check_jsonl) || fail "failing workflow: stdout is not JSON lines"
case "$counts" in
*"execution_failed=1"*) ;;
*) fail "failing workflow: events: $counts" ;;
esac
grep -q '"error_type":"ValueError"' "$out" || fail "failing workflow: error_type"
grep -q '0 completed, 1 failed' "$err" || fail "failing workflow: summary"

# 6. Bad usage: exit 2.
"$troupe" run examples/workflows/arb_btc.json --nope >"$out" 2>"$err"
[ $? -eq 2 ] || fail "bad option: exit status"
grep -q 'bad option' "$err" || fail "bad option: message"
"$troupe" run examples/workflows/arb_btc.json --events xml >"$out" 2>"$err"
[ $? -eq 2 ] || fail "bad --events value: exit status"
"$troupe" run examples/workflows/arb_btc.json --repeat 0 >"$out" 2>"$err"
[ $? -eq 2 ] || fail "--repeat 0: exit status"
"$troupe" run >"$out" 2>"$err"
[ $? -eq 2 ] || fail "no file: exit status"
"$troupe" run --help >"$out" 2>"$err"
[ $? -eq 0 ] || fail "--help: exit status"
grep -q '^usage: troupe run' "$out" || fail "--help: usage on stdout"
echo "run_cli: ok"

#!/bin/sh
# tests/emergency/run_halted.sh TROUPE SRC -- the kill switch from the command
# line, each step a separate process sharing one state_dir (a temp dir):
#   1. `troupe run` of examples/workflows/losing_trader.json (-100 per
#      execution) with daily_loss_limit -500: 5 complete, the 6th's sell
#      halts bot_loser, the rest end execution_halted naming the limit; exit 3;
#   2. the halt persisted: a new process exits 3 at once, no trade starts;
#   3. kill -9 of a process right after its halt was written: still halted;
#   4. `troupe emergency` status/resume/halt/alert/shutdown/reset against the
#      same state_dir, and what `troupe run` does after each;
#   5. a corrupt state file: fail closed (halted); bad usage: exit 2.
set -u
troupe=$1
src=$2
tmp=$(mktemp -d)
out=$tmp/out err=$tmp/err
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; tail -c 3000 "$out"; echo "--- stderr"; tail -c 3000 "$err"; exit 1; }
wf=$src/examples/workflows/losing_trader.json
cfg=$tmp/cfg.json
printf '{"state_dir": "%s/state", "emergency": {"daily_loss_limit": -500, "auto_halt": true}}\n' \
    "$tmp" >"$cfg"
run() { "$troupe" run "$wf" --config "$cfg" --events jsonl "$@" >"$out" 2>"$err"; }
em() { "$troupe" emergency "$@" --config "$cfg" >"$out" 2>"$err"; }
count() { grep -c "\"type\":\"$1\"" "$out"; }

# 1. Lose until the limit halts the bot.
run --repeat 200
rc=$?
[ $rc -eq 3 ] || fail "1: exit $rc, want 3"
grep -q '200 executions: 5 completed, 0 failed, 195 halted' "$err" || fail "1: summary"
[ "$(count execution_halted)" -eq 195 ] || fail "1: execution_halted lines"
grep '"type":"execution_halted"' "$out" | head -1 |
    grep -q '"reason":"risk limit daily_loss exceeded on controller bot_loser: value -600' ||
    fail "1: the halt does not name the limit"
[ -f "$tmp/state/emergency-bot_loser.json" ] || fail "1: no state file"

# 2. The halt survives the process: halted at once, nothing traded.
run --repeat 3
rc=$?
[ $rc -eq 3 ] || fail "2: exit $rc, want 3"
grep -q '3 executions: 0 completed, 0 failed, 3 halted' "$err" || fail "2: summary"
[ "$(count node_started)" -eq 0 ] || fail "2: a node started"
grep -q 'restored in state halt' "$err" || fail "2: restore not logged"

# 3. kill -9 right after a halt: a fresh state_dir, a process that keeps
#    running halted executions; SIGKILL once its halt is on stdout.
cfg9=$tmp/cfg9.json
printf '{"state_dir": "%s/state9", "emergency": {"daily_loss_limit": -500}}\n' "$tmp" >"$cfg9"
"$troupe" run "$wf" --config "$cfg9" --repeat 1000000 --events jsonl >"$tmp/out9" 2>/dev/null &
pid=$!
i=0
until grep -q '"type":"execution_halted"' "$tmp/out9" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 300 ] || { kill -9 $pid; fail "3: no halt within 30 s"; }
    sleep 0.1
done
kill -9 $pid || fail "3: the process ended before it could be killed"
wait $pid 2>/dev/null
[ $? -eq 137 ] || fail "3: not killed by SIGKILL"
"$troupe" run "$wf" --config "$cfg9" --events jsonl >"$out" 2>"$err"
rc=$?
[ $rc -eq 3 ] || fail "3: after kill -9: exit $rc, want 3"

# 4. Operator control, offline, against the same state_dir.
em status --controller bot_loser || fail "4: status exit"
grep -q '"state":"halt"' "$out" || fail "4: status not halt"
grep -q '"halt_reason":"risk limit daily_loss exceeded' "$out" || fail "4: status halt_reason"
em alert --controller bot_loser
[ $? -eq 2 ] || fail "4: alert over a halt must be refused (exit 2)"
grep -q 'refused' "$err" || fail "4: refusal not explained on stderr"
em resume --controller bot_loser --reason "new trading day" || fail "4: resume exit"
grep -q '"state":"normal"' "$out" || fail "4: resume state"
run --repeat 1
rc=$?
[ $rc -eq 0 ] || fail "4: after resume: exit $rc, want 0"
em halt --reason "ops: maintenance window" || fail "4: global halt exit"
run --repeat 2
rc=$?
[ $rc -eq 3 ] || fail "4: after a global halt: exit $rc, want 3"
grep -q '"reason":"ops: maintenance window"' "$out" || fail "4: global halt reason"
em shutdown --reason "ops: end of day" || fail "4: shutdown exit"
run --repeat 2
rc=$?
[ $rc -eq 3 ] || fail "4: after shutdown: exit $rc, want 3"
[ "$(count execution_started)" -eq 0 ] || fail "4: shutdown: an execution started"
em resume
[ $? -eq 2 ] || fail "4: resume from shutdown must be refused"
em reset --reason "ops: next day" || fail "4: reset exit"
run --repeat 1
rc=$?
[ $rc -eq 0 ] || fail "4: after reset: exit $rc, want 0"

# 5. A corrupt state file fails closed; bad usage is exit 2.
printf '{"controller_id":"bot_loser","sta' >"$tmp/state/emergency-bot_loser.json"
run --repeat 1
rc=$?
[ $rc -eq 3 ] || fail "5: corrupt file: exit $rc, want 3"
grep -q 'unreadable' "$out" || fail "5: the halt does not say why"
"$troupe" emergency >"$out" 2>"$err"
[ $? -eq 2 ] || fail "5: no action: want 2"
em halt --controller 'bad id!'
[ $? -eq 2 ] || fail "5: bad controller id: want 2"
em halt --bogus x
[ $? -eq 2 ] || fail "5: bad option: want 2"
echo "run_halted: ok"

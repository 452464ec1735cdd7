#!/bin/sh
# tests/workflow/validate_cli.sh TROUPE SRC -- `troupe validate` end to end:
# exit codes, stdout for valid files, one stderr line per problem.
set -u
troupe=$1
src=$2
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1; }

cd "$src" || exit 1
"$troupe" validate examples/workflows/arb_btc.json examples/workflows/constant.json >"$out" 2>"$err"
[ $? -eq 0 ] || fail "valid files: exit status"
[ "$(cat "$out")" = "examples/workflows/arb_btc.json: ok (5 nodes)
examples/workflows/constant.json: ok (4 nodes)" ] || fail "valid files: stdout"
[ -s "$err" ] && fail "valid files: stderr not empty"

"$troupe" validate examples/workflows/arb_btc.json tests/workflow/bad/bad_expr.json \
    tests/workflow/bad/malformed.json >"$out" 2>"$err"
[ $? -eq 2 ] || fail "invalid files: exit status"
[ "$(cat "$out")" = "examples/workflows/arb_btc.json: ok (5 nodes)" ] || fail "invalid: stdout"
[ "$(cat "$err")" = "tests/workflow/bad/bad_expr.json: node 'spread': config.expr: unexpected ')' at column 24
tests/workflow/bad/malformed.json:5:21: invalid JSON: '}' expected near '\"type\"'" ] || fail "invalid: stderr"

"$troupe" validate tests/workflow/bad/many.json >"$out" 2>"$err"
[ $? -eq 2 ] || fail "many: exit status"
[ "$(wc -l <"$err")" -eq 12 ] || fail "many: expected 12 problem lines"

"$troupe" validate /nonexistent.json >"$out" 2>"$err"
[ $? -eq 2 ] || fail "unreadable: exit status"
[ "$(cat "$err")" = "/nonexistent.json: cannot open: No such file or directory" ] || fail "unreadable: stderr"

"$troupe" validate >"$out" 2>"$err"
[ $? -eq 2 ] || fail "no files: exit status"
"$troupe" validate --nope x.json >"$out" 2>"$err"
[ $? -eq 2 ] || fail "bad option: exit status"
"$troupe" validate --help >"$out" 2>"$err"
[ $? -eq 0 ] || fail "--help: exit status"
echo "validate_cli: ok"

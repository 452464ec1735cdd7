# tests/lib/serve.sh -- shared by the shell tests that drive a real
# `troupe serve` (source it: `. "$src/tests/lib/serve.sh"`).
#
#   serve_require_modules DIR PKG...  fail unless DIR/node_modules has PKGs
#   serve_begin                        temp dir in $tmp, cleanup trap, fail()
#   serve_free_port                    a free loopback port in $port
#   serve_start ARG...                 `$troupe serve ARG...` in the background,
#                                      pid in $pid, stderr in $tmp/err; waits
#                                      (bounded) for "listening on"
#   serve_stop                         SIGTERM, a bounded wait, exit status 0
# Needs $troupe set.  Every wait is bounded; the server is killed on exit.

serve_require_modules() {
    dir=$1
    shift
    for pkg in "$@"; do
        if [ ! -d "$dir/node_modules/$pkg" ]; then
            echo "FAIL: $dir/node_modules is missing: run scripts/test-deps.sh (npm ci) first"
            exit 1
        fi
    done
}

serve_begin() {
    tmp=$(mktemp -d)
    pid=
    trap serve_cleanup EXIT
}

serve_cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}

fail() {
    echo "FAIL: $*"
    echo "--- server stderr"
    head -c 4000 "$tmp/err" 2>/dev/null
    exit 1
}

serve_free_port() {
    port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})') ||
        fail "no free port"
}

serve_start() {
    "$troupe" serve "$@" >/dev/null 2>"$tmp/err" &
    pid=$!
    i=0
    until grep -q "listening on" "$tmp/err" 2>/dev/null; do
        [ $i -lt 100 ] || fail "server did not start in 10 s"
        kill -0 "$pid" 2>/dev/null || fail "server exited"
        sleep 0.1
        i=$((i + 1))
    done
}

serve_stop() {
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 150 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    kill -0 "$pid" 2>/dev/null && fail "still running 15 s after SIGTERM"
    wait "$pid"
    rc=$?
    pid=
    [ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
}

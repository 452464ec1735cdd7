#!/bin/sh
# tests/dashboard/run.sh TROUPE SRC OUTDIR -- the dashboard in a real headless browser.
#
# Starts `troupe serve` on a free port with the example workflows (arb_btc_001
# runs every second on its schedule), a temp state_dir and server.auth_token
# set, waits for /health, then runs dashboard_test.mjs (playwright-core driving
# Debian's /usr/bin/chromium) against http://127.0.0.1:<port>/.  The screenshot
# goes to OUTDIR/dashboard.png.  Every wait is bounded; the server is killed on
# exit.  Missing node_modules is a FAILURE with a hint, never a silent pass.
set -u
troupe=$1
src=$2
out=${3:-.}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON3:-python3}
chromium=${TROUPE_CHROMIUM:-/usr/bin/chromium}
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; echo "--- serve stderr (tail)"; tail -c 4000 "$tmp/err" 2>/dev/null; exit 1; }

[ -d "$here/node_modules/playwright-core" ] ||
    fail "tests/dashboard/node_modules is missing: run scripts/test-browser.sh (apt chromium + npm ci)"
[ -x "$chromium" ] || fail "$chromium not found: run scripts/test-browser.sh"
command -v node >/dev/null 2>&1 || fail "node not found"

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])') ||
    fail "no free port"
token=dash-token-$$
printf '{"state_dir": "%s/state", "server": {"auth_token": "%s"}}\n' "$tmp" "$token" >"$tmp/config.json"
base=http://127.0.0.1:$port

cd "$src" || exit 1
"$troupe" serve --config "$tmp/config.json" --listen "127.0.0.1:$port" \
    --workflows examples/workflows >/dev/null 2>"$tmp/err" &
pid=$!
i=0
until "$py" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$base/health" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "serve exited early"
    i=$((i + 1))
    [ $i -lt 100 ] || fail "/health never answered"
    sleep 0.1
done

mkdir -p "$out"
TROUPE_URL=$base/ TROUPE_TOKEN=$token TROUPE_CHROMIUM=$chromium TROUPE_SCREENSHOT=$out/dashboard.png \
    timeout 150 node "$here/dashboard_test.mjs" || fail "browser test failed (exit $?)"
kill -0 "$pid" 2>/dev/null || fail "serve died during the test"
echo "PASS: dashboard (screenshot: $out/dashboard.png)"

#!/bin/sh
# scripts/test-browser.sh -- prepare the dashboard's browser test (tests/dashboard).
#
# 1. Installs Debian's `chromium` with apt-get when /usr/bin/chromium is missing
#    (needs root; nothing happens when it is already there).
# 2. Installs playwright-core from tests/dashboard/package-lock.json (`npm ci`;
#    it never downloads a browser: the test drives /usr/bin/chromium).
# Safe to run twice.  Re-run cmake afterwards if chromium was just installed: the
# ctest `dashboard_browser` is registered only when node and chromium exist at
# configure time.  Run it with: ctest -L browser --output-on-failure
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test-browser.sh: /usr/bin/chromium is missing and installing it needs root" >&2
        exit 1
    fi
    echo "test-browser.sh: installing chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium ||
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }
fi

command -v npm >/dev/null 2>&1 || { echo "test-browser.sh: npm not found" >&2; exit 1; }
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$root/tests/dashboard" --no-audit --no-fund
echo "test-browser.sh: ready (chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"

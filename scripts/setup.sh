#!/usr/bin/env bash
# scripts/setup.sh -- install what troupe needs from Debian's packages.
# Safe to run twice: installs only what is missing.  Needs root (or sudo).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config python3
  libck-dev libuv1-dev libmsgpack-dev libjansson-dev
  libhiredis-dev libwebsockets-dev libcmocka-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Install the Debian packages the orchestrator builds, runs and tests with.
# Idempotent: does nothing when every package is present; runs `apt-get update`
# only when the package lists are missing or an install finds no candidate.
# Usage: scripts/setup-deps.sh        (as root, or through sudo)
set -euo pipefail

PKGS=(
  build-essential autoconf automake libtool pkg-config
  libfcgi-dev libfcgi-bin libcurl4-openssl-dev libjson-c-dev libpq-dev libcmocka-dev zlib1g-dev
  postgresql postgresql-client nginx-light
  curl wrk prometheus python3 valgrind tzdata faketime
  systemd logrotate chromium
  clang libclang-rt-14-dev
)
# tests/browser (playwright-core from npm, Node >= 18) needs node and npm:
# Debian's when there are none (a newer Node from elsewhere, with its own
# npm, is kept: Debian's npm package would conflict with it).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

# tests/e2e/e2e_n8n.sh installs n8n 1.123.x with npm (scripts/n8n.sh) and
# needs Node >= 20: Debian 12's nodejs is 18, so Node is not installed from
# here (nodejs.org or NodeSource packages); say so when it is missing.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "${node_major:-0}" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
  echo "setup-deps: note: the end-to-end test with real n8n needs Node >= 20 and npm" \
       "(found: node ${node_major:-none}$(command -v npm >/dev/null 2>&1 || echo ', no npm')); it will fail until they are installed" >&2
fi

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "setup-deps: installing ${missing[*]}"

SUDO=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup-deps: not root and no sudo: install ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive

# Packages such as postgresql, nginx and prometheus start system services from
# their maintainer scripts; we run our own private instances, so forbid that
# for the duration of the install (policy-rc.d exit 101 = "action forbidden").
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

install() { $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; }

if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  $SUDO apt-get update -q
  install
elif ! install; then
  echo "setup-deps: install failed; updating the package lists and retrying" >&2
  $SUDO apt-get update -q
  install
fi
echo "setup-deps: done"

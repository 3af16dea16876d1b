#!/usr/bin/env bash
# Installs the headless browser the console tests drive (Debian's chromium, used via playwright-core).
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (or run the apt-get line yourself).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser: /usr/bin/chromium is missing; install it as root: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium; then
  # The package lists may be missing or stale on a fresh machine.
  apt-get update
  apt-get install -y --no-install-recommends chromium
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "install-browser: apt-get finished but /usr/bin/chromium is still missing" >&2
  exit 1
fi
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"

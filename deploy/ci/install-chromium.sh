#!/usr/bin/env bash
# The operator console's browser tests drive the Debian package `chromium` (/usr/bin/chromium) with
# playwright-core; no browser is ever downloaded. Idempotent: does nothing when it is installed.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)" >&2
  exit 0
fi
run_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run_as_root apt-get update -qq
run_as_root apt-get install -y -qq chromium >/dev/null
echo "chromium: installed $(/usr/bin/chromium --version 2>/dev/null)" >&2

#!/usr/bin/env bash
# Installs the system packages the tests need (Debian's Chromium for the browser
# tests), when they are missing and this machine can install them. Never downloads
# a browser build of its own.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
else
  echo "note: /usr/bin/chromium is missing; browser tests will be skipped" >&2
  echo "      (install it with: sudo apt-get install chromium)" >&2
fi

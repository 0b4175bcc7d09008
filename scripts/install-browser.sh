#!/usr/bin/env bash
# Install headless Chromium and its WebDriver, for the browser test of the agents' pages
# (tests/web/test_browser.py, driven by selenium).
#
# Idempotent: does nothing when /usr/bin/chromium and /usr/bin/chromedriver exist; runs
# `apt-get update` only when the packages are not known yet. Needs root (or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-browser: run as root (or install sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium chromium-driver >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update -q
fi
"${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed"

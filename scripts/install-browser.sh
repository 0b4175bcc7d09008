#!/usr/bin/env bash
# Install headless Chromium and its WebDriver, for the browser test of the agents' pages
# (tests/web/test_browser.py, driven by selenium).
#
# Idempotent: installs only what is missing (scripts/apt-install). Needs root (or sudo)
# when something is missing.
set -euo pipefail

"$(dirname "$0")/apt-install" install-browser chromium chromium-driver
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "install-browser: chromium and chromium-driver are installed but /usr/bin/chromium or /usr/bin/chromedriver is missing" >&2
  exit 1
fi
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) ready"

#!/usr/bin/env bash
# Install ClamAV's clamd from Debian's packages, for the malware-scan tests of the document
# vault (tests/support/clamd.py runs its own clamd on 127.0.0.1 with a signature database
# holding only the EICAR test signature: no freshclam, no internet, no system service used).
#
# Idempotent: installs only what is missing (scripts/apt-install). Needs root (or sudo)
# when something is missing.
set -euo pipefail

"$(dirname "$0")/apt-install" install-clamav clamav-daemon

if ! command -v clamd >/dev/null 2>&1 && [ ! -x /usr/sbin/clamd ]; then
  echo "install-clamav: clamav-daemon installed but clamd is not found" >&2
  exit 1
fi
# The Debian package starts a system clamd that waits for signatures freshclam cannot fetch
# here; the tests never use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet clamav-daemon 2>/dev/null; then
  systemctl stop clamav-daemon clamav-freshclam >/dev/null 2>&1 || true
fi
version=$(dpkg-query -W -f='${Version}' clamav-daemon)
echo "install-clamav: clamd ${version} ready"

#!/usr/bin/env bash
# Install the LemonLDAP::NG OpenID Connect provider that the test suite runs
# (tests/support/llng.py): the portal from Debian's packages, run by plackup
# on 127.0.0.1, without nginx or Apache.
#
# Idempotent: does nothing when every package is already installed; runs
# `apt-get update` only when something is missing. Needs root (or sudo).
set -euo pipefail

# liblemonldap-ng-portal-perl  the portal (pulls liblemonldap-ng-{common,handler}-perl and,
#                              as first choice of its web-server dependency,
#                              lemonldap-ng-fastcgi-server, which stays unused)
# libplack-perl                plackup and HTTP::Server::PSGI
# libio-string-perl            Portal::Main::Issuer (a Recommends of the portal)
# libstring-random-perl        Portal::Issuer::OpenIDConnect (a Recommends of common)
# libgd-securityimage-perl     Portal::Captcha::SecurityImage, loaded at every start
# libimage-magick-perl         its backend (GD::SecurityImage use_magick => 1)
# libmime-tools-perl           mail templates (password reset, notifications)
PACKAGES=(
  liblemonldap-ng-portal-perl
  libplack-perl
  libio-string-perl
  libstring-random-perl
  libgd-securityimage-perl
  libimage-magick-perl
  libmime-tools-perl
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  version=$(dpkg-query -W -f='${Version}' liblemonldap-ng-portal-perl)
  echo "install-llng: LemonLDAP::NG ${version} already installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-llng: must run as root (or with sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp -t install-llng.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! { "${SUDO[@]}" apt-get update -q \
       && "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "install-llng: apt-get failed installing: ${missing[*]}" >&2
  exit 1
fi

if ! perl -MLemonldap::NG::Portal::Main -MLemonldap::NG::Portal::Issuer::OpenIDConnect \
          -MLemonldap::NG::Portal::Captcha::SecurityImage -e1 2>"$log" \
   || ! command -v plackup >/dev/null 2>&1; then
  cat "$log" >&2
  echo "install-llng: packages installed but the LemonLDAP::NG portal does not load" >&2
  exit 1
fi

version=$(dpkg-query -W -f='${Version}' liblemonldap-ng-portal-perl)
echo "install-llng: installed LemonLDAP::NG ${version} (${missing[*]})"

#!/usr/bin/env bash
# Install the LemonLDAP::NG OpenID Connect provider that the test suite runs
# (tests/support/llng.py): the portal from Debian's packages, run by plackup
# on 127.0.0.1, without nginx or Apache.
#
# Idempotent: installs only what is missing (scripts/apt-install), then checks that the
# portal loads. Needs root (or sudo) when something is missing.
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

"$(dirname "$0")/apt-install" install-llng "${PACKAGES[@]}"

log=$(mktemp -t install-llng.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! perl -MLemonldap::NG::Portal::Main -MLemonldap::NG::Portal::Issuer::OpenIDConnect \
          -MLemonldap::NG::Portal::Captcha::SecurityImage -e1 2>"$log" \
   || ! command -v plackup >/dev/null 2>&1; then
  cat "$log" >&2
  echo "install-llng: packages installed but the LemonLDAP::NG portal does not load" >&2
  exit 1
fi

version=$(dpkg-query -W -f='${Version}' liblemonldap-ng-portal-perl)
echo "install-llng: LemonLDAP::NG ${version} ready"

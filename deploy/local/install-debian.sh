#!/bin/sh
# Installs the Debian packages a group of tests (or a build) needs, when they are
# missing: `install-debian.sh [--no-recommends] "what they are for" package...`.
# The Makefile's ldap, saml, samba, browser and imap targets name theirs. Where
# installing is impossible (no root, no apt) it says so and carries on: the tests
# that need the packages then skip, saying why (python-ldap's build fails instead).
set -u
recommends=""
if [ "${1:-}" = "--no-recommends" ]; then
    recommends="--no-install-recommends"
    shift
fi
purpose="$1"
shift
missing=""
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian$missing for $purpose"
    # slapd would otherwise make a directory of its own at install time.
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections 2>/dev/null
    # shellcheck disable=SC2086
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $recommends $missing) >/dev/null; then
        exit 0
    fi
fi
echo "cannot install$missing here: $purpose will be skipped (or fail to build), saying why" >&2
exit 0

#!/bin/sh
# python-ldap (identity's LDAP / Active Directory client, docs/sso.md) is published
# only as a source distribution: `make install` builds it against Debian's OpenLDAP
# and SASL headers with gcc. The LDAP tests (tests/sso) run a real Debian slapd,
# driven with ldap-utils. Install what is missing; when that is impossible (no
# root, no apt), say so: the install then fails at python-ldap with pip's reason.
set -u
missing=""
for pkg in libldap2-dev libsasl2-dev gcc slapd ldap-utils; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian$missing for python-ldap and the LDAP tests"
    # slapd would otherwise make a directory of its own at install time.
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    # shellcheck disable=SC2086
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null; then
        exit 0
    fi
fi
echo "cannot install$missing here: python-ldap will not build and the LDAP tests skip" >&2
exit 0

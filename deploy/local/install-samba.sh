#!/bin/sh
# Samba as an Active Directory domain controller, the AD of the LDAP tests (tests/sso;
# docs/sso.md). It binds the privileged LDAP ports, so the tests use it only as root.
# Install what is missing; when that is impossible (no root, no apt), say so: the
# Active Directory tests then skip with the reason.
set -u
missing=""
for pkg in samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian$missing for the Active Directory tests"
    # shellcheck disable=SC2086
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing) >/dev/null; then
        exit 0
    fi
fi
echo "cannot install$missing here: the Active Directory tests will be skipped" >&2
exit 0

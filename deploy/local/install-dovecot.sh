#!/bin/sh
# The mailgate's IMAP polling is tested against Debian's dovecot-imapd, run
# unprivileged from a temporary directory (tests/integration/mailgate/dovecot.py).
# Install it when missing; when that is impossible (no root, no apt), say so and
# carry on: the IMAP tests then skip with the reason, and the SMTP path carries
# the end-to-end tests.
set -u
if [ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian dovecot-imapd for the IMAP polling tests"
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd) >/dev/null; then
        exit 0
    fi
fi
echo "dovecot is not installed and cannot be installed here: IMAP tests will be skipped" >&2
exit 0

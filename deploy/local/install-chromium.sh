#!/bin/sh
# The browser tests drive Debian's Chromium through Playwright (never a
# downloaded browser build). Install it when missing; when that is impossible
# (no root, no apt), say so and carry on: the browser tests then skip with
# the reason.
set -u
CHROMIUM="${HELPDESK_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian chromium for the browser tests"
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; then
        exit 0
    fi
fi
echo "chromium is not installed and cannot be installed here: browser tests will be skipped" >&2
exit 0

#!/usr/local/bin/python3
"""`wget -q -O - URL` for the NATS stand-in's healthcheck (the real image has busybox)."""

import sys
import urllib.request

url = next(arg for arg in sys.argv[1:] if arg.startswith("http"))
try:
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310
        sys.stdout.write(response.read().decode())
except Exception as exc:
    print(f"wget: {exc}", file=sys.stderr)
    sys.exit(1)

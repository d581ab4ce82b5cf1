"""A bad configuration value stops a service at start with one clear line."""

from __future__ import annotations

import subprocess
import sys


def refusal_at_start(service: str, variable: str, value: str) -> str:
    """The one line a service prints when `variable` is `value` (it exits 2)."""
    result = subprocess.run(
        [sys.executable, "-m", f"helpdesk.{service}"],
        env={variable: value, "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {variable}:")
    return lines[0]


def test_malformed_value_is_one_line_naming_the_variable() -> None:
    refusal_at_start("notifier", "HELPDESK_SMTP_PORT", "twenty-five")


def test_a_gateway_key_that_is_not_an_ed25519_public_key_stops_it_at_start() -> None:
    line = refusal_at_start(
        "gateway", "HELPDESK_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nnope\n"
    )
    assert "PEM" in line

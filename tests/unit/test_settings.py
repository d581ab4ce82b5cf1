"""A bad configuration value stops a service at start with one clear line."""

from __future__ import annotations

import subprocess
import sys


def test_malformed_value_is_one_line_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "helpdesk.notifier"],
        env={"HELPDESK_SMTP_PORT": "twenty-five", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: HELPDESK_SMTP_PORT:")


def test_a_gateway_key_that_is_not_an_ed25519_public_key_stops_it_at_start() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "helpdesk.gateway"],
        env={"HELPDESK_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nnope\n", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: HELPDESK_JWT_PUBLIC_KEY:")
    assert "PEM" in lines[0]

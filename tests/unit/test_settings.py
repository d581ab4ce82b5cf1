"""A bad configuration value stops a service at start with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from helpdesk.identity.settings import Settings
from helpdesk.servicekit import sealing


def refusal_at_start(service: str, variable: str, value: str, **others: str) -> str:
    """The one line a service prints when `variable` is `value` (it exits 2)."""
    result = subprocess.run(
        [sys.executable, "-m", f"helpdesk.{service}"],
        env={**others, variable: value, "PATH": "/usr/bin"},
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


@pytest.mark.parametrize("service", ["gateway", "tickets", "notifier"])
def test_a_token_key_that_is_not_an_ed25519_public_key_stops_the_service_at_start(
    service: str,
) -> None:
    # The notifier's one required setting, so that the key is what it refuses.
    seal_key = {"HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY": sealing.generate()[0]}
    line = refusal_at_start(
        service, "HELPDESK_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nnope\n", **seal_key
    )
    assert "PEM" in line


def test_a_list_setting_is_read_from_one_variable_split_on_its_separator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HELPDESK_MFA_REQUIRED_ROLES", " agent, ,admin ")
    monkeypatch.setenv("HELPDESK_LDAP_AGENT_GROUPS", "cn=agents,dc=example;cn=desk,dc=example")
    monkeypatch.setenv("HELPDESK_WEBAUTHN_ORIGINS", "")
    settings = Settings(jwt_private_key="unused", notifier_seal_public_key=sealing.generate()[1])
    assert settings.mfa_required_roles == ("agent", "admin")
    # DNs hold commas: the directory's groups are separated by semicolons.
    assert settings.ldap_agent_groups == ("cn=agents,dc=example", "cn=desk,dc=example")
    assert settings.webauthn_origins == ()


def test_a_saml_metadata_certificate_that_is_not_one_stops_identity_at_start(
    tmp_path: Path,
) -> None:
    not_a_certificate = tmp_path / "signer.pem"
    not_a_certificate.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    for path in (not_a_certificate, tmp_path / "missing.pem"):
        with pytest.raises(ValidationError, match="must be the path of a PEM certificate"):
            Settings(
                jwt_private_key="unused",
                notifier_seal_public_key=sealing.generate()[1],
                saml_idp_metadata_cert=str(path),
            )

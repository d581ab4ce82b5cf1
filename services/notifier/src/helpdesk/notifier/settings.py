"""Notifier configuration (DESIGN.md §5)."""

from __future__ import annotations

from pydantic import EmailStr, Field, SecretStr

from helpdesk.servicekit.access_tokens import VerifyingKeyPem
from helpdesk.servicekit.sealing import SealPrivateKey
from helpdesk.servicekit.settings import CommaSeparated, PersonalDataSettings


class Settings(PersonalDataSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = Field(10.0, gt=0)
    mail_from: str = "Helpdesk <helpdesk@localhost>"
    # Base of the links in e-mails: {public_url}/helpdesk/{locale}/activate?token=...
    public_url: str = "http://127.0.0.1:8080"
    oncall_email: EmailStr = "oncall@localhost.localdomain"
    # How long a mail the SMTP server refuses temporarily (down, timeouts, 4xx)
    # is retried before it is given up as expired, like an MTA's queue lifetime.
    mail_retry_seconds: float = Field(24 * 3600.0, gt=0)
    # Back-off between attempts: first delay, doubled each time up to the cap.
    mail_retry_first_seconds: float = Field(5.0, gt=0)
    mail_retry_max_seconds: float = Field(600.0, gt=0)
    # While the SMTP server cannot be reached, it is probed (connect, NOOP) on a
    # back-off from 1 s up to this, and the queue released as soon as it answers.
    mail_probe_max_seconds: float = Field(15.0, gt=0)
    # SMTP sessions (mails sent at once) per replica.
    mail_workers: int = Field(8, ge=1, le=64)
    # The mail channel (docs/mail.md): ticket mails get a signed Reply-To on the first
    # support address (default: HELPDESK_MAIL_FROM's); no key, no Reply-To.
    mail_reply_key: SecretStr | None = None
    support_addresses: CommaSeparated = ()
    # Files an agent adds go with the mail up to this total; beyond it, links.
    mail_attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=0)
    # Opens the activation and reset tokens identity seals for the notifier alone
    # (docs/security.md, "Where secrets live"). During a rotation the replaced key
    # stays as the previous one until no event sealed to it can still arrive.
    notifier_seal_private_key: SealPrivateKey
    notifier_seal_previous_private_key: SealPrivateKey | None = None
    # Identity's public key: proves the admin behind a webhook command (docs/api.md);
    # unset, the notifier serves no webhook commands (the API answers 503).
    jwt_public_key: VerifyingKeyPem | None = None
    # Signed webhooks (docs/api.md, "Webhooks"). Hosts (names or addresses, comma-
    # separated) that may receive them over plain http and at private addresses.
    webhook_allowed_hosts: CommaSeparated = ()
    # A failed delivery is retried on a doubling back-off for this long, then the
    # endpoint is disabled and its admin mailed.
    webhook_retry_seconds: float = Field(24 * 3600.0, gt=0)
    webhook_retry_first_seconds: float = Field(5.0, gt=0)
    webhook_retry_max_seconds: float = Field(3600.0, gt=0)

    def seal_private_keys(self) -> list[str]:
        keys = [self.notifier_seal_private_key, self.notifier_seal_previous_private_key]
        return [k.get_secret_value() for k in keys if k is not None]

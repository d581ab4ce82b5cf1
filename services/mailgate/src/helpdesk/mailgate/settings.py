"""Mail gateway configuration (DESIGN.md §5, docs/mail.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from helpdesk.contracts.attachments import DEFAULT_MAX_BYTES
from helpdesk.servicekit.settings import CommaSeparated, ServiceSettings


class Settings(ServiceSettings):
    # Where employees write (comma-separated); their `+` sub-addresses are accepted too.
    # Empty: the address of HELPDESK_MAIL_FROM.
    support_addresses: CommaSeparated = ()
    mail_from: str = "Helpdesk <helpdesk@localhost>"
    # The other services' key cache (docs/privacy.md): an erasure's scrub of the
    # mails kept here waits that long, as theirs do. No key is ever held here.
    privacy_key_cache_seconds: float = Field(30.0, ge=0, le=300)
    # HMAC key of the per-ticket reply addresses (>= 32 characters, required); the
    # notifier signs with the same one.
    mail_reply_key: SecretStr
    # The SMTP/LMTP listener (0 = off).
    mailgate_smtp_port: int = Field(default=2525, ge=0, le=65535)
    mailgate_lmtp_port: int = Field(default=0, ge=0, le=65535)
    mailgate_smtp_host: str = "0.0.0.0"
    mailgate_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # STARTTLS is offered when both are set (PEM files).
    mailgate_tls_cert: Path | None = None
    mailgate_tls_key: Path | None = None
    # IMAP polling: imaps://user:password@host[:port]/MAILBOX (empty = off).
    mailgate_imap_url: SecretStr | None = None
    mailgate_imap_interval: float = Field(default=30.0, gt=0)
    # Mails one sender may send per hour before the rest are kept but not processed.
    mailgate_sender_hourly_limit: int = Field(default=30, ge=1)
    # A mail's files go through the same checks as portal uploads (the gateway reads
    # the same names): the per-file limit and the optional clamd scanner.
    attachment_max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    clamd_url: str | None = None
    # Outgoing explanation mails (unknown sender, ...).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    public_url: str = "http://127.0.0.1:8080"

    @field_validator("mail_reply_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

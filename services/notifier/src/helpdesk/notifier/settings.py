"""Notifier configuration (DESIGN.md §5)."""

from __future__ import annotations

from pydantic import EmailStr, SecretStr

from helpdesk.servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    mail_from: str = "Helpdesk <helpdesk@localhost>"
    # Base of the links in e-mails: {public_url}/helpdesk/{locale}/activate?token=...
    public_url: str = "http://127.0.0.1:8080"
    oncall_email: EmailStr = "oncall@localhost.localdomain"
    # The mail channel (docs/mail.md): ticket mails get a signed Reply-To on the first
    # support address (default: HELPDESK_MAIL_FROM's); no key, no Reply-To.
    mail_reply_key: SecretStr | None = None
    support_addresses: str = ""

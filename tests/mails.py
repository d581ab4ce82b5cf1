"""The notifier as the mail tests run it (settings for a local sink) and the
parts of a caught mail."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from helpdesk.devstack.servers import MailSink
from helpdesk.notifier.settings import Settings
from tests.tokens import seal_private_key


def notifier_settings(sink: MailSink, **overrides: Any) -> Settings:
    """The notifier's settings for mail into `sink` (sealed tokens opened with the tests' key)."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "public_url": "https://helpdesk.example",
        "mail_from": "Helpdesk <hd@example>",
        "notifier_seal_private_key": seal_private_key(),
        **overrides,
    }
    return Settings(**values)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())

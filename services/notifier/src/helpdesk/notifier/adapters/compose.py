"""Rendering mails: templates in `templates/<locale>/<name>.subject.txt`,
`<name>.txt` and `<name>.html` (Jinja2; HTML autoescaped), composed into one
multipart message. The Message-ID is derived from the event, the recipient
and the template, so the rare resend after a crash between SMTP's answer and
the delivery's mark is recognisable as the same mail.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
from uuid import UUID

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from helpdesk.notifier.domain.files import MailFile
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.mailformat import MAIL_POLICY, encoded, header_safe
from helpdesk.servicekit.runtime import current_correlation_id

LOCALES = ("el", "en")


def message_id_for(event_id: UUID, to: str, template: str) -> str:
    """The same event, recipient and template always give the same Message-ID."""
    digest = hashlib.sha256(f"{to.lower()}|{template}".encode()).hexdigest()[:12]
    return f"<{event_id}.{digest}@helpdesk>"


@dataclass(frozen=True)
class ComposedMail:
    """A mail ready for SMTP: envelope addresses and the flattened message
    (and the files the sender adds to it: `mail_files.MailFiles`)."""

    sender: str
    recipient: str
    message_id: str
    data: bytes
    attachments: tuple[MailFile, ...] = ()


class MailComposer:
    """Renders a template in a locale into a complete, flattened message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.templates = Environment(
            loader=PackageLoader("helpdesk.notifier", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,  # templates ship with the release: no stat per render
        )

    @functools.cached_property
    def _sender(self) -> tuple[str, str]:
        """The envelope sender and the From header (the same for every mail: parsed
        and encoded once)."""
        name, address = parseaddr(header_safe(self.settings.mail_from))
        return address, formataddr((name, address), charset="utf-8")

    def link(self, locale: str, page: str) -> str:
        """An absolute link to a portal page in the user's locale."""
        return f"{self.settings.public_url.rstrip('/')}/helpdesk/{locale}/{page}"

    def render(self, template: str, locale: str, context: dict[str, Any]) -> tuple[str, str, str]:
        locale = locale if locale in LOCALES else "el"
        ctx = {**context, "locale": locale, "public_url": self.settings.public_url}
        subject = self.templates.get_template(f"{locale}/{template}.subject.txt").render(ctx)
        text = self.templates.get_template(f"{locale}/{template}.txt").render(ctx)
        html = self.templates.get_template(f"{locale}/{template}.html").render(ctx)
        return header_safe(subject), text, html

    def compose(
        self,
        *,
        event_id: UUID,
        to: str,
        to_name: str | None,
        template: str,
        locale: str,
        context: dict[str, Any],
        headers: Mapping[str, str] | None = None,
        attachments: tuple[MailFile, ...] = (),
    ) -> ComposedMail:
        subject, text, html = self.render(template, locale, context)
        # email.mime with the compat32 policy: a third of the CPU of EmailMessage,
        # whose header registry re-parses every header it is given.
        # Every part is base64 (utf-8 text), whose lines never start with "--": any
        # boundary is safe, so the generator need not search the text for one.
        # 64 random bits keep the Content-Type line short enough to be written as it is.
        message = MIMEMultipart(
            "alternative", boundary=f"helpdesk-{secrets.token_hex(8)}", policy=MAIL_POLICY
        )
        sender, from_header = self._sender
        message["From"] = from_header
        message["To"] = formataddr((header_safe(to_name or ""), header_safe(to)), charset="utf-8")
        # A short ASCII subject is written as it is; any other is encoded and folded.
        message["Subject"] = encoded("Subject", subject)  # type: ignore[assignment]
        message["Date"] = formatdate(usegmt=True)
        message_id = message_id_for(event_id, to, template)
        message["Message-ID"] = message_id
        message["X-Correlation-Id"] = header_safe(current_correlation_id())
        message["Auto-Submitted"] = "auto-generated"
        for name, value in (headers or {}).items():  # threading (threading.py)
            message[name] = header_safe(value)
        message.attach(MIMEText(text, "plain", "utf-8", policy=MAIL_POLICY))
        message.attach(MIMEText(html, "html", "utf-8", policy=MAIL_POLICY))
        return ComposedMail(
            sender=sender,
            recipient=header_safe(to),
            message_id=message_id,
            data=message.as_bytes(),
            attachments=attachments,
        )

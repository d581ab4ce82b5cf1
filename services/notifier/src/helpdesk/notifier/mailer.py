"""Rendering and sending mails, each exactly once per (event, recipient, template).

Templates live in `templates/<locale>/<name>.subject.txt`, `<name>.txt` and
`<name>.html` (Jinja2; HTML autoescaped). The Message-ID is derived from the
event id, so even the rare resend after a crash between SMTP and commit is
recognisable as the same mail by the receiving server.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
from uuid import UUID

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from prometheus_client import Counter

from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.runtime import current_correlation_id

log = get_logger(__name__)

SENT = Counter("notifier_mails_sent_total", "Mails handed to the SMTP server", ["template"])

LOCALES = ("el", "en")

# Mails of one consumer sent at once. Each is independent; their order is not
# promised (two mails about one ticket seconds apart may arrive swapped).
MAIL_WORKERS = 8
_LINE_BREAKS = re.compile(r"[\r\n\x00]+")


def header_safe(value: str) -> str:
    """No CR/LF ever reaches a header raw (header injection)."""
    return _LINE_BREAKS.sub(" ", value).strip()


def message_id_for(event_id: UUID, to: str, template: str) -> str:
    """The same event, recipient and template always give the same Message-ID."""
    digest = hashlib.sha256(f"{to.lower()}|{template}".encode()).hexdigest()[:12]
    return f"<{event_id}.{digest}@helpdesk>"


@dataclass(frozen=True)
class ComposedMail:
    """A mail ready for SMTP: envelope addresses and the flattened message."""

    sender: str
    recipient: str
    message_id: str
    data: bytes


class SmtpConnections:
    """A few SMTP sessions kept open and reused: a connection, EHLO and
    STARTTLS per mail would cost more than the mail itself."""

    def __init__(self, settings: Settings, size: int) -> None:
        self.settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout,
        )
        await client.connect()
        return client

    async def send(self, mail: ComposedMail) -> None:
        sender, recipients, data = mail.sender, [mail.recipient], mail.data
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            if client is not None:
                try:
                    await client.sendmail(sender, recipients, data)
                except aiosmtplib.SMTPServerDisconnected:
                    client = None  # the server closed it while idle: one fresh try below
                except BaseException:
                    client.close()
                    raise
            if client is None:
                client = await self._connect()
                try:
                    await client.sendmail(sender, recipients, data)
                except BaseException:
                    client.close()
                    raise
            self._idle.append(client)


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp = SmtpConnections(settings, size=MAIL_WORKERS)
        self.templates = Environment(
            loader=PackageLoader("helpdesk.notifier", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

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
    ) -> ComposedMail:
        subject, text, html = self.render(template, locale, context)
        # email.mime with the compat32 policy: a third of the CPU of EmailMessage,
        # whose header registry re-parses every header it is given.
        message = MIMEMultipart("alternative")
        sender_name, sender = parseaddr(header_safe(self.settings.mail_from))
        message["From"] = formataddr((sender_name, sender), charset="utf-8")
        message["To"] = formataddr((header_safe(to_name or ""), header_safe(to)), charset="utf-8")
        message["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]
        message["Date"] = formatdate(usegmt=True)
        message_id = message_id_for(event_id, to, template)
        message["Message-ID"] = message_id
        message["X-Correlation-Id"] = header_safe(current_correlation_id())
        message["Auto-Submitted"] = "auto-generated"
        for name, value in (headers or {}).items():  # threading (threading.py)
            message[name] = header_safe(value)
        message.attach(MIMEText(text, "plain", "utf-8"))
        message.attach(MIMEText(html, "html", "utf-8"))
        return ComposedMail(
            sender=sender,
            recipient=header_safe(to),
            message_id=message_id,
            data=message.as_bytes(),
        )

    async def send_once(
        self,
        conn: Connection,
        *,
        event_id: UUID,
        to: str,
        template: str,
        locale: str,
        context: dict[str, Any],
        to_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bool:
        """Send unless this (event, recipient, template) was already sent.

        Call inside the consumer's inbox transaction: the delivery row commits
        with the inbox entry, or neither does and the event is retried.
        """
        fresh = await conn.fetchval(
            "INSERT INTO deliveries (event_id, recipient, template, message_id)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            event_id,
            to.lower(),
            template,
            message_id_for(event_id, to, template),
        )
        if not fresh:
            return False
        await self.deliver(
            self.compose(
                event_id=event_id,
                to=to,
                to_name=to_name,
                template=template,
                locale=locale,
                context=context,
                headers=headers,
            )
        )
        SENT.labels(template).inc()
        log.info("mail sent", template=template, event_id=str(event_id), locale=locale)
        return True

    async def deliver(self, mail: ComposedMail) -> None:
        await self.smtp.send(mail)

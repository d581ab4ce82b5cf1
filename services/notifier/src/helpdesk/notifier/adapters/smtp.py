"""Sending composed mails over a few reused SMTP sessions, and telling a
temporary refusal (retry later) from a permanent one (the mail bounced)."""

from __future__ import annotations

import asyncio

import aiosmtplib

from helpdesk.notifier.adapters.compose import ComposedMail
from helpdesk.notifier.settings import Settings


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

    async def probe(self) -> None:
        """Raise unless the server answers: connect (and STARTTLS), then NOOP.
        The cheap question asked while mail waits for the server to return."""
        client = await self._connect()
        try:
            await client.noop()
        finally:
            client.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def smtp_code(exc: BaseException) -> int | None:
    """The SMTP reply code behind a failure, if the server gave one."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return max(codes) if codes else None
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code
    return None


def is_permanent(exc: BaseException) -> bool:
    """5xx: the server refused this mail for good (bounced). Everything else
    (connection refused or lost, timeouts, 4xx) may work later."""
    code = smtp_code(exc)
    return code is not None and 500 <= code < 600


def describe(exc: BaseException) -> str:
    """A short, secret-free reason: the exception type and the server's reply."""
    code = smtp_code(exc)
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    kind = type(exc).__name__
    return f"{kind} {code}: {text}" if code is not None else f"{kind}: {text}".rstrip(": ")

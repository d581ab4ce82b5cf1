"""The short mails that tell a sender why their mail created nothing, in Greek
and English (`templates/<reason>.txt`).

Recorded in the transaction that records the mail's outcome (at most one per
address, reason and day: the table's key), sent after the commit by this
loop, then marked sent. A crash between sending and marking sends it once
more, with the same Message-ID. Each carries `Auto-Submitted: auto-replied`
(RFC 3834), so well-behaved auto-responders never answer it.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import date
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib
import asyncpg
from jinja2 import Environment, PackageLoader, StrictUndefined

from helpdesk.mailgate.settings import Settings
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import kind_of, repeat
from helpdesk.servicekit.mailformat import MAIL_POLICY, encoded
from helpdesk.servicekit.waits import woken

log = get_logger(__name__)

MAX_ATTEMPTS = 10


class Explainer:
    def __init__(self, pool: asyncpg.Pool, settings: Settings, *, interval: float = 2.0) -> None:
        self.pool = pool
        self.settings = settings
        self.interval = interval
        self.wake = asyncio.Event()
        self.templates = Environment(
            loader=PackageLoader("helpdesk.mailgate", "templates"),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,  # noqa: S701 (plain-text mails only)
        )

    def compose(
        self, *, to: str, reason: str, subject: str, in_reply_to: str | None, day: date
    ) -> Message:
        base = self.settings.public_url.rstrip("/")
        context = {
            "address": to,
            "subject": subject or "-",
            "register_link": f"{base}/helpdesk/el/register",
            "register_link_en": f"{base}/helpdesk/en/register",
            "portal_link": f"{base}/helpdesk/el/",
            "portal_link_en": f"{base}/helpdesk/en/",
        }
        title = self.templates.get_template(f"{reason}.subject.txt").render(context)
        text = self.templates.get_template(f"{reason}.txt").render(context)
        # The helpdesk's mail policy: EmailMessage's folder lost a space of the
        # Greek subject where it split it (servicekit.mailformat).
        message = MIMEText(text, "plain", "utf-8", policy=MAIL_POLICY)
        message["From"] = formataddr(parseaddr(self.settings.mail_from), charset="utf-8")
        message["To"] = to
        message["Subject"] = encoded("Subject", " ".join(title.split())[:250])  # type: ignore[assignment]
        message["Date"] = formatdate(usegmt=True)
        digest = hashlib.sha256(f"{to}|{reason}|{day}".encode()).hexdigest()[:16]
        message["Message-ID"] = f"<explain.{digest}@helpdesk>"
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
            message["References"] = in_reply_to
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
        return message

    async def run(self) -> None:
        await repeat(
            self.send_pending,
            pause=self._woken,
            failed="explanations pass failed",
            error_of=kind_of,
        )

    async def _woken(self) -> None:
        self.wake.clear()
        await woken(self.wake, self.interval)

    async def send_pending(self) -> int:
        rows = await self.pool.fetch(
            "UPDATE explanations SET attempts = attempts + 1,"
            " not_before = now() + make_interval(secs => 30 * (attempts + 1))"
            " WHERE (address, reason, day) IN (SELECT address, reason, day FROM explanations"
            "  WHERE sent_at IS NULL AND attempts < $1 AND not_before <= now()"
            "  ORDER BY not_before LIMIT 20 FOR UPDATE SKIP LOCKED)"
            " RETURNING address, reason, day, subject, in_reply_to",
            MAX_ATTEMPTS,
        )
        sent = 0
        for row in rows:
            message = self.compose(
                to=row["address"],
                reason=row["reason"],
                subject=row["subject"],
                in_reply_to=row["in_reply_to"],
                day=row["day"],
            )
            try:
                await self._send(message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                log.warning("explanation not sent yet", reason=row["reason"], error=repr(exc))
                continue
            await self.pool.execute(
                "UPDATE explanations SET sent_at = now()"
                " WHERE address = $1 AND reason = $2 AND day = $3",
                row["address"],
                row["reason"],
                row["day"],
            )
            sent += 1
            log.info("explanation sent", reason=row["reason"])
        return sent

    async def _send(self, message: Message) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            sender=parseaddr(s.mail_from)[1],
            recipients=[str(message["To"])],
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            timeout=10,
        )

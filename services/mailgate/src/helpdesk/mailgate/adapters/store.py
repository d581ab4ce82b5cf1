"""The mail store in PostgreSQL: `mails` (raw bytes and processing state),
`explanations` (mails to send to senders), and the kit's `dead_letters`.

`keep` is one INSERT that commits before the listener says 250: a second
delivery of the same bytes or Message-ID hits a unique index and adds nothing.
A dead-lettered mail is parked in the kit's `dead_letters` table with a
`MailReceived` envelope (metadata only), so `helpdesk dead-letters mailgate`
shows it and `helpdesk redrive mailgate <id>` queues the mail again
(`on_mail_received`, run by the kit's re-drive).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from uuid import uuid4

import asyncpg

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.mail import MailReceived
from helpdesk.mailgate.domain.message import clean_line
from helpdesk.mailgate.handlers.deps import Kept, Outcome, StoredMail
from helpdesk.servicekit.consumer import DEAD_LETTERED, EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.events import EventHandlers, on_events
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

INTAKE_CONSUMER = "mailgate-intake"
LEASE_SECONDS = 120
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}>")


def _headers(raw: bytes) -> MailReceived | None:
    """The metadata of a mail from its headers alone (cheap; never raises)."""
    try:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        found = _MESSAGE_ID.findall(str(headers.get("Message-ID") or ""))
        senders = getaddresses([str(headers.get("From") or "")])
        try:
            date: datetime | None = parsedate_to_datetime(str(headers.get("Date") or ""))
        except (TypeError, ValueError, IndexError):
            date = None
        return MailReceived(
            mail_id=uuid4(),
            message_id=found[0] if found else None,
            sender=senders[0][1].lower() if senders and "@" in senders[0][1] else None,
            recipients=[],
            subject_line=clean_line(str(headers.get("Subject") or ""), 200) or None,
            date=date,
            sha256=hashlib.sha256(raw).hexdigest(),
        )
    except Exception:  # a header the parser chokes on: the mail is still kept
        return None


def message_id_of(raw: bytes) -> str | None:
    meta = _headers(raw)
    return meta.message_id if meta else None


def sender_of(raw: bytes) -> str | None:
    """The From address of a mail (lower-cased), from its headers."""
    meta = _headers(raw)
    return meta.sender if meta else None


# Taken shared by every `finish`, exclusively by an erasure's scrub: a mail's
# outcome is recorded wholly before a scrub, or after it and seeing it.
ERASURE_LOCK = 0x6D61696C_65726173  # "mailerase"
# What a mail of an erased person keeps: its id, its hash (the same bytes
# delivered again stay a duplicate, never a new ticket), its ticket and times.
BLANK = (
    "status = 'erased', raw = ''::bytea, message_id = NULL, envelope_from = NULL,"
    " recipients = '{}', sender = NULL, outcome = 'erased', last_error = NULL"
)


async def _of_someone_erased(conn: Connection, outcome: Outcome) -> bool:
    """Whether the tickets service answered with a person erased since (the mail
    waited out an outage): then the mail is stored blank, not whole."""
    people = [p for p in (outcome.user_id, outcome.requester_id) if p is not None]
    if not people:
        return False
    return bool(
        await conn.fetchval(
            "SELECT true FROM erased_people WHERE user_id = any($1::uuid[])", people
        )
    )


class PostgresMailStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def keep(
        self, raw: bytes, *, envelope_from: str | None, recipients: Sequence[str], source: str
    ) -> Kept:
        digest = hashlib.sha256(raw).hexdigest()
        message_id = message_id_of(raw)
        mail_id = await self.pool.fetchval(
            "INSERT INTO mails (mail_id, sha256, message_id, raw, source, envelope_from,"
            " recipients) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT DO NOTHING RETURNING mail_id",
            uuid4(),
            digest,
            message_id,
            raw,
            source,
            envelope_from,
            [r.lower() for r in recipients],
        )
        if mail_id is not None:
            return Kept(mail_id, duplicate=False)
        existing = await self.pool.fetchval(
            "SELECT mail_id FROM mails WHERE sha256 = $1 OR message_id = $2 LIMIT 1",
            digest,
            message_id,
        )
        return Kept(existing, duplicate=True)

    async def claim(self, limit: int) -> list[StoredMail]:
        rows = await self.pool.fetch(
            "UPDATE mails SET attempts = attempts + 1,"
            f" not_before = now() + interval '{LEASE_SECONDS} seconds'"
            " WHERE mail_id IN (SELECT mail_id FROM mails"
            "  WHERE status = 'received' AND not_before <= now()"
            "  ORDER BY not_before LIMIT $1 FOR UPDATE SKIP LOCKED)"
            " RETURNING mail_id, raw, envelope_from, recipients, attempts",
            limit,
        )
        return [
            StoredMail(
                mail_id=r["mail_id"],
                raw=bytes(r["raw"]),
                envelope_from=r["envelope_from"],
                recipients=tuple(r["recipients"]),
                attempts=r["attempts"],
            )
            for r in rows
        ]

    async def mails_from(self, sender: str, since: datetime) -> int:
        return int(
            await self.pool.fetchval(
                "SELECT count(*) FROM mails"
                " WHERE sender = $1 AND received_at >= $2 AND status <> 'received'",
                sender.lower(),
                since,
            )
        )

    async def finish(self, mail: StoredMail, outcome: Outcome) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            # An erasure scrubs either before this or after it commits (erasure.py).
            await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", ERASURE_LOCK)
            recorded = await conn.fetchval(
                "UPDATE mails SET status = $2, outcome = $3, ticket_id = $4, sender = $5,"
                " user_id = $6, requester_id = $7, processed_at = now(), last_error = NULL"
                " WHERE mail_id = $1 AND status <> 'erased' RETURNING true",
                mail.mail_id,
                outcome.status,
                outcome.detail[:1000],
                outcome.ticket_id,
                outcome.sender.lower() if outcome.sender else None,
                outcome.user_id,
                outcome.requester_id,
            )
            if not recorded:
                return  # its sender was erased while it was being processed
            if await _of_someone_erased(conn, outcome):
                await conn.execute(f"UPDATE mails SET {BLANK} WHERE mail_id = $1", mail.mail_id)
                return
            explanation = outcome.explanation
            if explanation is not None:
                await conn.execute(
                    "INSERT INTO explanations (address, reason, day, mail_id, subject,"
                    " in_reply_to) VALUES (lower($1), $2, current_date, $3, $4, $5)"
                    " ON CONFLICT DO NOTHING",
                    explanation.to,
                    explanation.reason,
                    mail.mail_id,
                    explanation.subject[:200],
                    explanation.in_reply_to,
                )
            if outcome.status == "dead":
                await self._park(conn, mail, outcome.detail)

    async def _park(self, conn: Connection, mail: StoredMail, reason: str) -> None:
        meta = _headers(mail.raw) or MailReceived(
            mail_id=mail.mail_id,
            message_id=None,
            sender=None,
            recipients=[],
            subject_line=None,
            date=None,
            sha256=hashlib.sha256(mail.raw).hexdigest(),
        )
        event = meta.model_copy(
            update={"mail_id": mail.mail_id, "recipients": list(mail.recipients)}
        )
        envelope = EventEnvelope.wrap(event, correlation_id=f"mail-{mail.mail_id}")
        await conn.execute(
            "INSERT INTO dead_letters"
            " (consumer, event_id, subject, payload, headers, error, deliveries)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            INTAKE_CONSUMER,
            envelope.event_id,
            f"mail {event.message_id or event.sha256}"[:500],
            envelope.model_dump_json().encode(),
            {},
            reason,
            mail.attempts,
        )
        DEAD_LETTERED.labels(INTAKE_CONSUMER).inc()
        log.error("mail dead-lettered", mail_id=str(mail.mail_id), reason=reason)

    async def retry_later(self, mail: StoredMail, error: str, delay: float) -> None:
        await self.pool.execute(
            "UPDATE mails SET not_before = now() + make_interval(secs => $2), last_error = $3"
            " WHERE mail_id = $1",
            mail.mail_id,
            delay,
            error[:1000],
        )


async def on_mail_received(event: MailReceived, conn: Connection) -> None:
    """Re-drive of a dead-lettered mail: it waits to be processed again."""
    await conn.execute(
        "UPDATE mails SET status = 'received', attempts = 0, not_before = now(),"
        " outcome = NULL WHERE mail_id = $1",
        event.mail_id,
    )
    log.info("mail queued again", mail_id=str(event.mail_id))


INTAKE_HANDLERS: EventHandlers[Connection] = {MailReceived: on_mail_received}


def intake_consumer() -> EventConsumer:
    """Not subscribed to any stream: registered so the kit's re-drive finds its handler."""
    return on_events(INTAKE_CONSUMER, INTAKE_HANDLERS, lambda delivery: delivery.conn)

"""The mail queue in the notifier's database (table `deliveries`).

* `enqueue` records one row per (event, recipient, template) with the
  composed message, the triple its key: a redelivered event records nothing
  twice, so the mail consumers need no inbox transaction (a statement is its
  own). Nothing leaves the system in it.
* `claim` takes due rows with `FOR UPDATE SKIP LOCKED` and pushes their
  `next_attempt_at` one lease ahead in the same, immediately committed
  statement: another replica skips them while they are being sent, and a
  crashed sender's rows come back when the lease ends.
* `sent`, `retry`, `bounced`, `expired` settle a claimed row. A sent or
  failed row forgets its message bytes (activation and reset links included).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from prometheus_client import Gauge

from helpdesk.notifier.adapters.compose import ComposedMail
from helpdesk.notifier.domain.files import MailFile
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import every, repeat

log = get_logger(__name__)

PENDING = Gauge("notifier_mail_pending", "Mails recorded and not yet sent, bounced or expired")
OLDEST_PENDING = Gauge(
    "notifier_mail_oldest_pending_seconds",
    "Age of the oldest mail not yet sent (0 when none waits)",
)


@dataclass(frozen=True)
class ClaimedMail:
    id: int
    template: str
    attempts: int
    created_at: datetime
    mail: ComposedMail


_CLAIM = """
UPDATE deliveries d
SET next_attempt_at = now() + make_interval(secs => $2), attempts = d.attempts + 1
FROM (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
) due
WHERE d.id = due.id
RETURNING d.id, d.template, d.attempts, d.created_at, d.sender, d.recipient,
          d.message_id, d.message, d.attachments
"""


class MailQueue:
    def __init__(self, pool: asyncpg.Pool | None) -> None:
        self.pool = pool

    def _pool(self) -> asyncpg.Pool:
        assert self.pool is not None, "the mail queue has no database"
        return self.pool

    @staticmethod
    async def enqueue(
        conn: Connection,
        *,
        event_id: UUID,
        template: str,
        mail: ComposedMail,
        recipient_id: UUID | None = None,
        people: Collection[UUID] = (),
    ) -> bool:
        """Record a mail to send; False if this (event, recipient, template) is known.
        `recipient_id` and `people`: whose it is, for an erasure (adapters/erasure.py)."""
        fresh = await conn.fetchval(
            "INSERT INTO deliveries (event_id, recipient, template, message_id, sender,"
            " message, status, attachments, recipient_id, people)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)"
            " ON CONFLICT DO NOTHING RETURNING true",
            event_id,
            mail.recipient.lower(),
            template,
            mail.message_id,
            mail.sender,
            mail.data,
            [vars(f) for f in mail.attachments] or None,
            recipient_id,
            sorted(people) or None,
        )
        return bool(fresh)

    async def claim(self, limit: int, lease_seconds: float) -> list[ClaimedMail]:
        rows = await self._pool().fetch(_CLAIM, limit, lease_seconds)
        return [
            ClaimedMail(
                id=r["id"],
                template=r["template"],
                attempts=r["attempts"],
                created_at=r["created_at"],
                mail=ComposedMail(
                    sender=r["sender"],
                    recipient=r["recipient"],
                    message_id=r["message_id"],
                    data=bytes(r["message"]),
                    attachments=tuple(MailFile(**f) for f in r["attachments"] or ()),
                ),
            )
            for r in rows
        ]

    async def sent(self, delivery_ids: list[int]) -> None:
        await self._pool().execute(
            "UPDATE deliveries SET status = 'sent', sent_at = now(), message = NULL,"
            " last_error = NULL WHERE id = any($1::bigint[])",
            delivery_ids,
        )

    async def retry(self, delivery_id: int, delay_seconds: float, error: str) -> None:
        await self._pool().execute(
            "UPDATE deliveries SET next_attempt_at = now() + make_interval(secs => $2),"
            " last_error = $3 WHERE id = $1 AND status = 'pending'",
            delivery_id,
            delay_seconds,
            error,
        )

    async def release(self, delivery_ids: list[int]) -> None:
        """Give claimed, unsettled mails back: due again at once."""
        await self._pool().execute(
            "UPDATE deliveries SET next_attempt_at = now()"
            " WHERE id = any($1::bigint[]) AND status = 'pending'",
            delivery_ids,
        )

    async def give_up(self, delivery_id: int, status: str, error: str) -> None:
        """`bounced` (the server refused it for good) or `expired` (retried too long)."""
        await self._pool().execute(
            "UPDATE deliveries SET status = $2, message = NULL, last_error = $3 WHERE id = $1",
            delivery_id,
            status,
            error,
        )

    async def measure(self) -> tuple[int, float]:
        """(pending mails, age in seconds of the oldest), also set as gauges."""
        row = await self._pool().fetchrow(
            "SELECT count(*) AS pending,"
            " coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest"
            " FROM deliveries WHERE status = 'pending'"
        )
        assert row is not None
        pending, oldest = int(row["pending"]), float(row["oldest"])
        PENDING.set(pending)
        OLDEST_PENDING.set(oldest)
        return pending, oldest

    async def watch(self, interval: float = 5.0) -> None:
        """Keep the backlog gauges current (every replica measures)."""
        await repeat(self.measure, pause=every(interval), failed="mail backlog not measured")

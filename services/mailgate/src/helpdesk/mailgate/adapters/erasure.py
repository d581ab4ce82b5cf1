"""The mails of an erased person, scrubbed (issue 30; docs/privacy.md, "Erasure
in the notifier and the mailgate"), and the consumer of `PersonalDataErased`.

The person's mails are the ones the tickets service answered with their id
(`user_id`: they sent it; `requester_id`: it is on their ticket, an agent's
answer too; migration mailgate_0002), and, by the addresses those show as
theirs, the ones that created nothing, were kept before that migration, still
wait, or were dead-lettered. Each keeps its row, blank (`store.BLANK`); its
explanation mails and dead letters go. One transaction (the consumer's inbox
transaction), under the lock every `finish` shares: all or nothing, and a mail
being processed meanwhile is recorded before the scrub or stored blank after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from helpdesk.mailgate.adapters.store import BLANK, ERASURE_LOCK, INTAKE_CONSUMER, sender_of
from helpdesk.mailgate.handlers.deps import ErasureDeps
from helpdesk.mailgate.handlers.erasure import ERASURE_HANDLERS
from helpdesk.servicekit.clock import Clock, SystemClock
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.events import on_events
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

ERASURE_CONSUMER = "mailgate-erasure"
# A waiting mail's sender is read from its headers, which come first.
_HEAD_BYTES = 64 * 1024

_ADDRESSES = "SELECT DISTINCT sender FROM mails WHERE user_id = $1 AND sender IS NOT NULL"
_WAITING = (
    f"SELECT mail_id, substring(raw FROM 1 FOR {_HEAD_BYTES}) AS head FROM mails"
    " WHERE status = 'received'"
)
_BLANKED = f"""
UPDATE mails SET {BLANK}
WHERE status <> 'erased'
  AND (user_id = $1 OR requester_id = $1 OR mail_id = any($3::uuid[])
       OR (user_id IS NULL
           AND (sender = any($2::text[]) OR lower(envelope_from) = any($2::text[]))))
RETURNING mail_id
"""
_EXPLANATIONS = "DELETE FROM explanations WHERE mail_id = any($1::uuid[]) OR address = any($2)"
_DEAD_LETTERS = """
DELETE FROM dead_letters
WHERE consumer = $1
  AND (convert_from(payload, 'UTF8')::jsonb #>> '{data,mail_id}' = any($2::text[])
       OR lower(convert_from(payload, 'UTF8')::jsonb #>> '{data,sender}') = any($3::text[]))
"""


@dataclass(frozen=True)
class ScrubbedMails:
    mails: int
    explanations: int
    dead_letters: int


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


class PostgresErasure:
    """The handler's `PersonErasure`, on the consumer's connection (in its transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def scrub(self, person_id: UUID, erased_at: datetime) -> ScrubbedMails:
        conn = self.conn
        await conn.execute("SELECT pg_advisory_xact_lock($1)", ERASURE_LOCK)
        await conn.execute(
            "INSERT INTO erased_people (user_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            person_id,
            erased_at,
        )
        addresses = [r["sender"] for r in await conn.fetch(_ADDRESSES, person_id)]
        waiting = [
            r["mail_id"]
            for r in await conn.fetch(_WAITING)
            if addresses and sender_of(bytes(r["head"])) in addresses
        ]
        blanked = [r["mail_id"] for r in await conn.fetch(_BLANKED, person_id, addresses, waiting)]
        explanations = await conn.execute(_EXPLANATIONS, blanked, addresses)
        dead = await conn.execute(
            _DEAD_LETTERS, INTAKE_CONSUMER, [str(m) for m in blanked], addresses
        )
        scrubbed = ScrubbedMails(len(blanked), _count(explanations), _count(dead))
        log.info("person's mails scrubbed", user_id=str(person_id), **vars(scrubbed))
        return scrubbed


def erasure_consumer(clock: Clock | None = None, key_cache_seconds: float = 30.0) -> EventConsumer:
    """The durable consumer of `PersonalDataErased` on the IDENTITY stream."""
    at = clock or SystemClock()
    return on_events(
        ERASURE_CONSUMER,
        ERASURE_HANDLERS,
        lambda delivery: ErasureDeps(PostgresErasure(delivery.conn), at, key_cache_seconds),
    )

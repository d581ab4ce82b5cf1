"""The `PersonalRecords` port on the unit of work's connection (docs/privacy.md):
the SQL behind an erasure's scrub and the retention of closed tickets, whose
use cases are `handlers/erasure.py` and `handlers/retention.py`.

Projecting a ticket again deletes its rows of the per-ticket read models and
applies its stored events to them once more, in the unit's transaction; since
its events now read as erased (the key is gone) or redacted, the rows become
exactly what a full rebuild would write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from helpdesk.contracts.personal import REQUESTERS
from helpdesk.contracts.privacy import TicketsRetentionApplied
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent
from helpdesk.servicekit.outbox import OutgoingMessage
from helpdesk.servicekit.privacy import SEALED_PREFIX, personal_fields, personal_sites
from helpdesk.servicekit.projections import Projection
from helpdesk.tickets.adapters.repository import stream_id

# The read models with a row (or rows) per ticket, keyed by `ticket_id`: what a
# ticket's events are projected into again.
PER_TICKET_TABLES = ("tickets", "sla_deadlines", "ticket_history", "ticket_search")


def per_ticket(projections: Sequence[Projection]) -> list[Projection]:
    """The projections writing the per-ticket read models."""
    return [p for p in projections if set(PER_TICKET_TABLES) & set(p.tables)]


class PostgresPersonalRecords:
    def __init__(self, conn: Connection, store: EventStore, projections: Sequence[Projection]):
        self.conn = conn
        self.store = store
        self.per_ticket = per_ticket(projections)

    async def requested_by(self, user_id: UUID) -> list[UUID]:
        rows = await self.conn.fetch(
            "SELECT ticket_id FROM tickets WHERE requester_id = $1 ORDER BY ticket_id", user_id
        )
        return [r["ticket_id"] for r in rows]

    async def sealed_under(self, key_ids: Sequence[UUID]) -> list[UUID]:
        if not key_ids:
            return []
        rows = await self.conn.fetch(
            "SELECT DISTINCT stream_id FROM events WHERE data::text LIKE any($1::text[])",
            [f"%{SEALED_PREFIX}{key_id}:%" for key_id in key_ids],
        )
        return [UUID(r["stream_id"].removeprefix("ticket-")) for r in rows]

    async def closed_before(self, at: datetime, limit: int) -> list[UUID]:
        rows = await self.conn.fetch(
            "SELECT ticket_id FROM tickets t WHERE status = 'closed' AND updated_at < $1"
            " AND NOT EXISTS (SELECT 1 FROM expired_tickets e WHERE e.ticket_id = t.ticket_id)"
            " ORDER BY updated_at LIMIT $2",
            at,
            limit,
        )
        return [r["ticket_id"] for r in rows]

    async def redact_requester_texts(self, ticket_id: UUID) -> int:
        rows = await self.conn.fetch(
            "SELECT event_id, event_type, data FROM events WHERE stream_id = $1",
            stream_id(ticket_id),
        )
        changed = 0
        for row in rows:
            model = self.store.models.get(row["event_type"])
            if model is None or not personal_fields(model):
                continue
            data = dict(row["data"])
            redacted = False
            for site in personal_sites(model, data):
                value = site.container[site.name]
                if site.personal.owner == REQUESTERS.owner and value not in (
                    None,
                    site.personal.erased,
                ):
                    site.container[site.name] = site.personal.erased
                    redacted = True
            if redacted:
                await self.conn.execute(
                    "UPDATE events SET data = $2 WHERE event_id = $1", row["event_id"], data
                )
                changed += 1
        return changed

    async def project_again(self, ticket_ids: Sequence[UUID]) -> None:
        for table in PER_TICKET_TABLES:
            await self.conn.execute(f"DELETE FROM {table} WHERE ticket_id = any($1)", ticket_ids)
        for ticket_id in ticket_ids:
            for event in await self.store.load(self.conn, stream_id(ticket_id)):
                for projection in self.per_ticket:
                    await projection.apply(self.conn, event)

    async def forget_person(self, user_id: UUID, ticket_ids: Sequence[UUID]) -> None:
        await self.conn.execute(
            "UPDATE users SET name = NULL, username = NULL, email = NULL WHERE user_id = $1",
            user_id,
        )
        # An answer stored before 2026-12 is a JSON string holding the object.
        await self.conn.execute(
            "DELETE FROM idempotency_keys WHERE user_id = $1 OR (CASE jsonb_typeof(answer)"
            " WHEN 'string' THEN (answer #>> '{}')::jsonb ELSE answer END ->> 'ticket_id')"
            " = any($2::text[])",
            user_id,
            [str(t) for t in ticket_ids],
        )

    async def mark_expired(self, ticket_id: UUID, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO expired_tickets (ticket_id, expired_at) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            ticket_id,
            at,
        )

    async def record_retention(self, run: TicketsRetentionApplied) -> None:
        message = OutgoingMessage.of(run, correlation_id=f"retention-{run.at:%Y%m%d%H%M%S}")
        envelope = message.envelope
        stored = NewEvent(
            event_type=envelope.event_type,
            data=envelope.data,
            event_id=envelope.event_id,
            schema_version=envelope.schema_version,
        )
        await self.store.append(self.conn, f"retention-{uuid4()}", 0, [stored], publish=[message])

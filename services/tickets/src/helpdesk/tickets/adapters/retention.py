"""Retention of closed tickets (issue 30, docs/privacy.md, "Retention").

A ticket closed longer than HELPDESK_RETENTION_CLOSED_DAYS (730) loses its texts
and files; its number, priority, queue, status history and SLA facts stay for the
reports. A person's key cannot do this (it seals all their tickets alike), so
the job redacts the ticket's stored events in place: each value sealed under
the requester's key (`/requester_id`: subject, description, replies, notes,
comment, file names) becomes its erased value. People's names stay — they are
not the ticket's, and go with their owner's erasure. Then, in the same
transaction, the ticket's files are removed (their bytes erased after the
commit) and its read-model rows projected again, so a rebuild gives the same.
Copies on the TICKETS stream have aged out long before (its max_age is shorter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

import asyncpg

from helpdesk.contracts.personal import REQUESTERS
from helpdesk.contracts.privacy import TicketsRetentionApplied
from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.outbox import OutgoingMessage
from helpdesk.servicekit.privacy import personal_fields, personal_sites
from helpdesk.servicekit.projections import Projection
from helpdesk.tickets.adapters.erasure import project_again
from helpdesk.tickets.adapters.repository import stream_id
from helpdesk.tickets.adapters.unit_of_work import PostgresUnitOfWork

log = get_logger(__name__)

BATCH = 200  # tickets per pass; the next pass takes the rest


@dataclass(frozen=True)
class RetentionJob:
    pool: asyncpg.Pool
    store: EventStore
    per_ticket: Sequence[Projection]  # the projections of the per-ticket read models
    clock: Clock
    closed_days: float
    uow_on: Callable[[Connection], Callable[..., PostgresUnitOfWork]]

    async def run_once(self) -> dict[str, int]:
        now = self.clock.now()
        due = await self.pool.fetch(
            "SELECT ticket_id FROM tickets t WHERE status = 'closed' AND updated_at < $1"
            " AND NOT EXISTS (SELECT 1 FROM expired_tickets e WHERE e.ticket_id = t.ticket_id)"
            " ORDER BY updated_at LIMIT $2",
            now - timedelta(days=self.closed_days),
            BATCH,
        )
        for row in due:
            await self._expire(row["ticket_id"])
        counts = {"closed_tickets_expired": len(due)}
        # The run is an event of its own stream, stored and published together.
        message = OutgoingMessage.of(
            TicketsRetentionApplied(at=now, counts=counts),
            correlation_id=f"retention-{now:%Y%m%d%H%M%S}",
        )
        envelope = message.envelope
        stored = NewEvent(
            event_type=envelope.event_type,
            data=envelope.data,
            event_id=envelope.event_id,
            schema_version=envelope.schema_version,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await self.store.append(conn, f"retention-{uuid4()}", 0, [stored], publish=[message])
        log.info("retention applied", **counts)
        return counts

    async def _expire(self, ticket_id: UUID) -> None:
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            async with self.uow_on(conn)() as uow:
                ticket = await uow.tickets.get(ticket_id)
                if ticket.erase_files(now):
                    await uow.tickets.save(ticket)
                    await uow.commit()
            await redact_texts(conn, self.store, ticket_id)
            await project_again(conn, self.store, self.per_ticket, [ticket_id])
            await conn.execute(
                "INSERT INTO expired_tickets (ticket_id, expired_at) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING",
                ticket_id,
                now,
            )


async def redact_texts(conn: Connection, store: EventStore, ticket_id: UUID) -> int:
    """The ticket's stored events with every requester's value (its texts) erased;
    returns how many events changed."""
    rows = await conn.fetch(
        "SELECT event_id, event_type, data FROM events WHERE stream_id = $1",
        stream_id(ticket_id),
    )
    changed = 0
    for row in rows:
        model = store.models.get(row["event_type"])
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
            await conn.execute(
                "UPDATE events SET data = $2 WHERE event_id = $1", row["event_id"], data
            )
            changed += 1
    return changed

"""Loading and saving tickets: the event stream, the outbox and the projections,
all in the unit of work's transaction, or as its one statement (`OneStatement`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent
from helpdesk.servicekit.outbox import OutgoingMessage
from helpdesk.servicekit.projections import Projection, apply_all, writes_of
from helpdesk.servicekit.runtime import current_correlation_id
from helpdesk.servicekit.statements import Write
from helpdesk.tickets.adapters.contract_events import contract_events, load_ticket
from helpdesk.tickets.adapters.users import USER_COLUMNS, User, user_of
from helpdesk.tickets.domain.ticket import Ticket

NUMBER_TIMEZONE = ZoneInfo("Europe/Athens")


def stream_id(ticket_id: UUID) -> str:
    return f"ticket-{ticket_id}"


async def next_number(conn: Connection, now: datetime) -> str:
    """`HD-2026-000042`: per calendar year (Athens), unique under any concurrency.

    From the year's sequence (`next_ticket_number`, migration 0002): no lock is
    held until commit, so submits run side by side; a submit that rolls back
    leaves a gap (docs/tickets.md).
    """
    year = now.astimezone(NUMBER_TIMEZONE).year
    number = await conn.fetchval("SELECT next_ticket_number($1)", year)
    return f"HD-{year}-{number:06d}"


async def user_and_number(
    conn: Connection, user_id: UUID, now: datetime
) -> tuple[User | None, str]:
    """The submitter's `find_user` and the ticket's `next_number` in one round trip.
    The number is taken even for a user the projection does not know yet: a
    gap, like a rolled-back submit's."""
    year = now.astimezone(NUMBER_TIMEZONE).year
    row = await conn.fetchrow(
        f"SELECT next_ticket_number($2) AS number, {USER_COLUMNS}"
        " FROM (SELECT 1) AS one LEFT JOIN users u ON u.user_id = $1",
        user_id,
        year,
    )
    assert row is not None
    return user_of(row), f"HD-{year}-{row['number']:06d}"


async def prepare_number_years(pool: asyncpg.Pool, now: datetime) -> None:
    """Create this year's and next year's number sequences ahead of their first ticket,
    each in a transaction of its own: a submit then never creates one, which would
    make the year's other submits wait for its commit (see migration 0002)."""
    year = now.astimezone(NUMBER_TIMEZONE).year
    async with pool.acquire() as conn:
        for y in (year, year + 1):
            async with conn.transaction():
                # Replicas starting together: one creates, the other finds it.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ticket-number-years'))")
                await conn.execute(f"CREATE SEQUENCE IF NOT EXISTS ticket_number_{int(y)}")


class PostgresNumbers:
    """The `TicketNumbers` port on the unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def next(self, now: datetime) -> str:
        return await next_number(self.conn, now)

    async def next_with_requester(self, user_id: UUID, now: datetime) -> tuple[User | None, str]:
        return await user_and_number(self.conn, user_id, now)


class OneStatement(Protocol):
    """Where a one-statement unit of work collects its save (see PostgresUnitOfWork)."""

    def collect(
        self, stream_id: str, expected_version: int, events: list[NewEvent], writes: list[Write]
    ) -> None: ...


class PostgresTickets:
    """The tickets repository on one connection: inside its unit of work's
    transaction, or collecting its save for the unit's single statement."""

    def __init__(
        self,
        conn: Connection,
        store: EventStore,
        projections: Sequence[Projection],
        one_statement: OneStatement | None = None,
    ) -> None:
        self.conn = conn
        self.store = store
        self.projections = projections
        self.one_statement = one_statement

    async def get(self, ticket_id: UUID) -> Ticket:
        recorded = await self.store.load(self.conn, stream_id(ticket_id))
        return load_ticket(ticket_id, [(r.event_type, r.data) for r in recorded])

    async def id_of_number(self, number: str) -> UUID | None:
        found = await self.conn.fetchval("SELECT ticket_id FROM tickets WHERE number = $1", number)
        return found if isinstance(found, UUID) else None

    async def save(self, ticket: Ticket, *, by: UUID | None = None) -> None:
        """Append the ticket's new events (raises ConcurrencyError if it moved on)."""
        if not ticket.pending:
            return
        correlation_id = current_correlation_id()
        messages = [
            OutgoingMessage.of(event, correlation_id=correlation_id)
            for event in contract_events(ticket)
        ]
        metadata = {"correlation_id": correlation_id, "actor_id": str(by) if by else None}
        new = [
            NewEvent(
                event_type=m.envelope.event_type,
                data=m.envelope.data,
                event_id=m.envelope.event_id,
                schema_version=m.envelope.schema_version,
                metadata=metadata,
            )
            for m in messages
        ]
        stream = stream_id(ticket.ticket_id)
        if self.one_statement is not None:
            writes, recorded = await self.store.append_writes(
                self.conn, stream, ticket.version, new, publish=messages, now=datetime.now(UTC)
            )
            projected = writes_of(self.projections, recorded)
            if projected is None:
                raise RuntimeError("these events need their projections' apply: a transaction")
            self.one_statement.collect(stream, ticket.version, new, writes + projected)
        else:
            recorded = await self.store.append(
                self.conn, stream, ticket.version, new, publish=messages
            )
            await apply_all(self.conn, self.projections, recorded)
        ticket.saved()

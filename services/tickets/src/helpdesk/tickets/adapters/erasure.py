"""The tickets service forgets an erased person (issue 30, docs/privacy.md).

On `PersonalDataErased`, once no replica can still hold the person's key
(servicekit/erasure.py), in the delivery's one transaction:

1. every file of the tickets they requested is removed through the aggregate
   (`Ticket.erase_files`: `TicketAttachmentRemoved` events, whose bytes the
   eraser deletes from the object store after the commit);
2. every ticket stream that holds anything sealed under their keys (their own
   tickets, and the tickets where their name appears as an agent's) is
   projected again from its events, which now read as erased: the rows of the
   per-ticket read models (the ticket list, the history behind the reports, the
   search index) become exactly what a full rebuild would write — numbers,
   priorities, queues and SLA facts stay, texts and names are empty;
3. their row of the users this service knows loses name, username and e-mail,
   and the stored answers to their repeated requests go.

Replaying the store later gives the same rows (tests/integration/tickets).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.erasure import forget_keys, wait_for_key_caches
from helpdesk.servicekit.events import EventHandlers, on_events
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.privacy import SEALED_PREFIX
from helpdesk.servicekit.projections import Projection
from helpdesk.tickets.adapters.repository import stream_id
from helpdesk.tickets.adapters.unit_of_work import PostgresUnitOfWork

log = get_logger(__name__)

CONSUMER_NAME = "tickets-erasure"
# The read models with a row (or rows) per ticket, keyed by `ticket_id`: what a
# ticket's events are projected into again.
PER_TICKET_TABLES = ("tickets", "sla_deadlines", "ticket_history", "ticket_search")


@dataclass(frozen=True)
class ErasureDeps:
    conn: Connection
    uow: Callable[..., PostgresUnitOfWork]  # units on `conn`: one transaction with the inbox
    store: EventStore
    projections: Sequence[Projection]  # the ones writing PER_TICKET_TABLES
    clock: Clock
    key_cache_seconds: float


async def tickets_holding(conn: Connection, key_ids: Sequence[UUID]) -> list[UUID]:
    """The tickets whose stored events hold a value sealed under one of `key_ids`."""
    if not key_ids:
        return []
    rows = await conn.fetch(
        "SELECT DISTINCT stream_id FROM events WHERE data::text LIKE any($1::text[])",
        [f"%{SEALED_PREFIX}{key_id}:%" for key_id in key_ids],
    )
    return [UUID(r["stream_id"].removeprefix("ticket-")) for r in rows]


async def project_again(
    conn: Connection,
    store: EventStore,
    projections: Sequence[Projection],
    ticket_ids: Sequence[UUID],
) -> None:
    """The tickets' rows in the per-ticket read models, written anew from their events."""
    for table in PER_TICKET_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE ticket_id = any($1)", ticket_ids)
    for ticket_id in ticket_ids:
        for event in await store.load(conn, stream_id(ticket_id)):
            for projection in projections:
                await projection.apply(conn, event)


def per_ticket(projections: Sequence[Projection]) -> list[Projection]:
    """The projections writing the per-ticket read models."""
    return [p for p in projections if set(PER_TICKET_TABLES) & set(p.tables)]


async def on_erased(event: PersonalDataErased, deps: ErasureDeps) -> None:
    forget_keys(event.user_id)
    wait_for_key_caches(event.erased_at, deps.clock.now(), deps.key_cache_seconds)
    now = deps.clock.now()
    requested = [
        r["ticket_id"]
        for r in await deps.conn.fetch(
            "SELECT ticket_id FROM tickets WHERE requester_id = $1", event.user_id
        )
    ]
    for ticket_id in requested:
        async with deps.uow() as uow:
            ticket = await uow.tickets.get(ticket_id)
            if ticket.erase_files(now):
                await uow.tickets.save(ticket)
                await uow.commit()
    touched = sorted({*requested, *await tickets_holding(deps.conn, event.key_ids)})
    await project_again(deps.conn, deps.store, deps.projections, touched)
    await deps.conn.execute(
        "UPDATE users SET name = NULL, username = NULL, email = NULL WHERE user_id = $1",
        event.user_id,
    )
    await deps.conn.execute(
        "DELETE FROM idempotency_keys WHERE user_id = $1"
        " OR (answer ->> 'ticket_id') = any($2::text[])",
        event.user_id,
        [str(t) for t in touched],
    )
    log.info("person scrubbed", user_id=str(event.user_id), tickets=len(touched))


ERASURE_HANDLERS: EventHandlers[ErasureDeps] = {PersonalDataErased: on_erased}


def erasure_consumer(deps: Callable[..., ErasureDeps]) -> EventConsumer:
    return on_events(CONSUMER_NAME, ERASURE_HANDLERS, deps)

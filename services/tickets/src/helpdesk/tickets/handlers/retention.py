"""Retention of closed tickets (issue 30, docs/privacy.md, "Retention").

A ticket closed longer than HELPDESK_RETENTION_CLOSED_DAYS (730) loses its texts
and files; its number, priority, queue, status history and SLA facts stay for the
reports. A person's key cannot do this (it seals all their tickets alike), so
the run redacts the ticket's stored events in place: each value sealed under
the requester's key (`/requester_id`: subject, description, replies, notes,
comment, file names) becomes its erased value. People's names stay — they are
not the ticket's, and go with their owner's erasure. In the same transaction
the ticket's files are removed (their bytes erased after the commit) and its
read-model rows projected again, so a rebuild gives the same. Copies on the
TICKETS stream have aged out long before (its max_age is shorter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from helpdesk.contracts.privacy import TicketsRetentionApplied
from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.logging import get_logger
from helpdesk.tickets.handlers.deps import UnitOfWorkFactory

log = get_logger(__name__)

BATCH = 200  # tickets per run; the next run takes the rest


@dataclass(frozen=True)
class RetentionDeps:
    uow: UnitOfWorkFactory  # units each on a pooled connection: one transaction a ticket
    clock: Clock
    closed_days: float


async def expire_closed_tickets(deps: RetentionDeps) -> dict[str, int]:
    """One run: the tickets closed past their retention lose texts and files; the
    run itself is recorded as an event."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        due = await uow.records.closed_before(now - timedelta(days=deps.closed_days), BATCH)
    for ticket_id in due:
        await _expire(deps, ticket_id)
    counts = {"closed_tickets_expired": len(due)}
    async with deps.uow() as uow:
        await uow.records.record_retention(TicketsRetentionApplied(at=now, counts=counts))
        await uow.commit()
    log.info("retention applied", **counts)
    return counts


async def _expire(deps: RetentionDeps, ticket_id: UUID) -> None:
    now = deps.clock.now()
    async with deps.uow() as uow:
        ticket = await uow.tickets.get(ticket_id)
        if ticket.erase_files(now):
            await uow.tickets.save(ticket)
        await uow.records.redact_requester_texts(ticket_id)
        await uow.records.project_again([ticket_id])
        await uow.records.mark_expired(ticket_id, now)
        await uow.commit()

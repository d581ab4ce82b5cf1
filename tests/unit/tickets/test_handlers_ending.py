"""The end of a ticket (issue 29) against the in-memory fakes: reopening within
the window, closing by itself after the business days, and the requester's
rating once per resolution."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    AUTOMATIC,
    ChangeStatus,
    GetTicket,
    RateTicket,
    ReopenTicket,
    SubmitTicket,
    TicketRated,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.handlers import commands, queries
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.sla import SlaMonitor
from tests.unit.tickets.conftest import ATHENS
from tests.unit.tickets.fakes import FakeDatabase

S = TicketStatus


async def _refused(code: str, call: object) -> Refused:
    with pytest.raises(Refused) as caught:
        await call  # type: ignore[misc]
    assert caught.value.error.code == code, caught.value.error
    return caught.value


async def _resolved(db: FakeDatabase, deps: Deps) -> tuple[Actor, Actor, UUID]:
    maria = db.add_user("Μαρία")
    smith = db.add_user("Smith", Role.AGENT)
    submitted = await commands.submit(
        SubmitTicket(actor=maria, subject="VPN", description="x", priority=Priority.NORMAL), deps
    )
    await _status(deps, smith, submitted.ticket_id, S.RESOLVED)
    return maria, smith, submitted.ticket_id


async def _status(deps: Deps, actor: Actor, ticket_id: UUID, status: TicketStatus) -> None:
    await commands.change_status(
        ChangeStatus(actor=actor, ticket_id=ticket_id, status=status), deps
    )


async def test_the_requester_reopens_within_the_window_and_not_after(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    maria, smith, ticket_id = await _resolved(db, deps)
    clock.advance(timedelta(days=14))  # the last moment of the default 14 days
    summary = await commands.reopen(
        ReopenTicket(actor=maria, ticket_id=ticket_id, reason="Ξανά δεν συνδέεται"), deps
    )
    assert summary.status is S.OPEN
    detail = await queries.get_ticket(GetTicket(actor=maria, ticket_id=ticket_id), deps)
    assert (detail.timeline[-1].kind, detail.timeline[-1].body) == (
        "TicketStatusChanged",
        "Ξανά δεν συνδέεται",
    )
    assert detail.resolved_at is None
    assert detail.reopen_until is None

    await _status(deps, smith, ticket_id, S.RESOLVED)
    resolved = await queries.get_ticket(GetTicket(actor=maria, ticket_id=ticket_id), deps)
    assert resolved.resolved_at == clock.now()
    assert resolved.reopen_until == clock.now() + timedelta(days=14)
    clock.advance(timedelta(days=14, seconds=1))
    refusal = await _refused(
        "invalid_transition", commands.reopen(ReopenTicket(actor=maria, ticket_id=ticket_id), deps)
    )
    assert "more than 14 days ago" in refusal.message
    # Nor through the status form; an agent may still reopen it.
    await _refused("invalid_transition", _status(deps, maria, ticket_id, S.OPEN))
    await commands.reopen(ReopenTicket(actor=smith, ticket_id=ticket_id), deps)
    assert db.ticket(ticket_id).status is S.OPEN
    await _refused(
        "invalid_transition", commands.reopen(ReopenTicket(actor=maria, ticket_id=ticket_id), deps)
    )


async def test_a_resolved_ticket_closes_by_itself_after_seven_business_days(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    _, _, ticket_id = await _resolved(db, deps)  # Monday 23 November, 09:00
    due = datetime(2026, 12, 1, 17, tzinfo=ATHENS)  # seven business days (8 h each) later
    assert db.ticket(ticket_id).sla.auto_close_at == due
    monitor = SlaMonitor(deps)
    clock.set(due - timedelta(minutes=1))
    await monitor.run_once()
    assert db.ticket(ticket_id).status is S.RESOLVED
    clock.set(due)
    await monitor.run_once()
    await monitor.run_once()  # nothing more to do
    ticket = db.ticket(ticket_id)
    assert ticket.status is S.CLOSED
    (closed,) = contract_events(ticket, start=ticket.version - 1)
    assert isinstance(closed, TicketStatusChanged)
    assert (closed.by, closed.to_status, closed.sla.auto_close_at) == (AUTOMATIC, S.CLOSED, None)


async def test_reopening_stops_the_closing(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    maria, _, ticket_id = await _resolved(db, deps)
    await commands.reopen(ReopenTicket(actor=maria, ticket_id=ticket_id), deps)
    assert db.ticket(ticket_id).sla.auto_close_at is None
    clock.advance(timedelta(days=30))
    await SlaMonitor(deps).run_once()
    assert db.ticket(ticket_id).status is S.OPEN


async def test_the_requester_rates_each_resolution_once(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    smith = db.add_user("Smith", Role.AGENT)
    submitted = await commands.submit(
        SubmitTicket(actor=maria, subject="VPN", description="x", priority=Priority.NORMAL), deps
    )
    ticket_id = submitted.ticket_id

    def rate(actor: Actor, rating: int = 5, comment: str | None = None) -> object:
        cmd = RateTicket(actor=actor, ticket_id=ticket_id, rating=rating, comment=comment)
        return commands.rate(cmd, deps)

    await _refused("invalid_transition", rate(maria))  # not resolved yet
    await _status(deps, smith, ticket_id, S.RESOLVED)
    await _refused("forbidden", rate(smith))  # the requester's say only
    rated = await commands.rate(
        RateTicket(actor=maria, ticket_id=ticket_id, rating=4, comment="Γρήγορα!"), deps
    )
    assert (rated.rating, rated.resolution) == (4, 1)
    await _refused("conflict", rate(maria))
    ticket = db.ticket(ticket_id)
    (published,) = contract_events(ticket, start=ticket.version - 1)
    assert isinstance(published, TicketRated)
    assert (published.rating, published.comment, published.queue) == (4, "Γρήγορα!", "service-desk")
    detail = await queries.get_ticket(GetTicket(actor=maria, ticket_id=ticket_id), deps)
    assert detail.rated
    assert (detail.timeline[-1].kind, detail.timeline[-1].details["rating"]) == ("TicketRated", "4")

    # Reopened and resolved again: a new resolution to rate; closing keeps it rateable.
    await commands.reopen(ReopenTicket(actor=maria, ticket_id=ticket_id), deps)
    await _refused("invalid_transition", rate(maria))
    await _status(deps, smith, ticket_id, S.RESOLVED)
    await _status(deps, maria, ticket_id, S.CLOSED)
    again = await commands.rate(RateTicket(actor=maria, ticket_id=ticket_id, rating=2), deps)
    assert again.resolution == 2
    await _refused("conflict", rate(maria))

"""Assignment to colleagues and unassigning (issue 29) against the in-memory fakes:
who may be made assignee, the reason on the timeline, and where an unassigned
ticket goes next."""

from __future__ import annotations

from uuid import UUID

import pytest

from helpdesk.contracts import agents as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    AssignTicket,
    ChangeStatus,
    GetTicket,
    TicketAwaitingAgent,
    TicketStatus,
    TicketUnassigned,
    UnassignTicket,
)
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.handlers import agents, assignment, commands, queries
from helpdesk.tickets.handlers.assignment import AssignmentDeps
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase
from tests.unit.tickets.test_handlers_assignment import assignee_of, members, submit


async def _refused(code: str, call: object) -> Refused:
    with pytest.raises(Refused) as caught:
        await call  # type: ignore[misc]
    assert caught.value.error.code == code, caught.value.error
    return caught.value


def _assign(actor: Actor, ticket_id: UUID, to: Actor, **kw: object) -> AssignTicket:
    return AssignTicket(actor=actor, ticket_id=ticket_id, assignee_id=to.user_id, **kw)


async def test_an_agent_assigns_a_member_of_the_queue_with_a_reason_on_the_timeline(
    db: FakeDatabase, deps: Deps
) -> None:
    admin = db.add_user("Admin", Role.ADMIN)
    smith, jones = db.add_user("Smith", Role.AGENT), db.add_user("Jones", Role.AGENT)
    outsider = db.add_user("Outsider", Role.AGENT)
    maria = db.add_user("Μαρία")
    await members(db, deps, admin, smith, jones)
    ticket = await submit(db, deps, maria)

    refusal = await _refused(
        "validation_error", commands.assign(_assign(smith, ticket.ticket_id, outsider), deps)
    )
    assert [(f.field, f.message) for f in refusal.error.field_errors] == [
        ("assignee_id", "not a member of the queue service-desk")
    ]
    summary = await commands.assign(_assign(smith, ticket.ticket_id, jones), deps)
    assert summary.assignee is not None
    assert summary.assignee.user_id == jones.user_id
    # Taking it from Jones for Smith needs reassign, and says why.
    await _refused(
        "already_assigned", commands.assign(_assign(jones, ticket.ticket_id, smith), deps)
    )
    await commands.assign(
        _assign(jones, ticket.ticket_id, smith, reassign=True, reason="Ξέρει το VPN"), deps
    )
    moved = db.streams[ticket.ticket_id][-1]
    assert isinstance(moved, e.Assigned)
    assert (moved.previous_assignee_id, moved.note) == (jones.user_id, "Ξέρει το VPN")
    detail = await queries.get_ticket(GetTicket(actor=smith, ticket_id=ticket.ticket_id), deps)
    assert detail.timeline[-1].kind == "TicketAssigned"
    assert detail.timeline[-1].body == "Ξέρει το VPN"
    # Assigning oneself stays open to any agent, a member or not.
    await commands.assign(
        AssignTicket(actor=outsider, ticket_id=ticket.ticket_id, reassign=True), deps
    )
    assert assignee_of(db, ticket.ticket_id) == outsider.user_id


async def test_a_queue_without_members_takes_any_agent(db: FakeDatabase, deps: Deps) -> None:
    smith, jones = db.add_user("Smith", Role.AGENT), db.add_user("Jones", Role.AGENT)
    ticket = await submit(db, deps, db.add_user("Μαρία"))
    await commands.assign(_assign(smith, ticket.ticket_id, jones), deps)
    assert assignee_of(db, ticket.ticket_id) == jones.user_id


async def test_only_agents_unassign_and_a_ticket_without_assignee_stays_as_it_is(
    db: FakeDatabase, deps: Deps
) -> None:
    smith = db.add_user("Smith", Role.AGENT)
    maria = db.add_user("Μαρία")
    ticket = await submit(db, deps, maria)
    unassign = UnassignTicket(actor=smith, ticket_id=ticket.ticket_id)
    await commands.unassign(unassign, deps)  # nobody has it: nothing recorded
    assert db.events_of(ticket.ticket_id) == [e.Submitted]
    await commands.assign(AssignTicket(actor=smith, ticket_id=ticket.ticket_id), deps)
    await _refused(
        "forbidden",
        commands.unassign(UnassignTicket(actor=maria, ticket_id=ticket.ticket_id), deps),
    )
    summary = await commands.unassign(
        UnassignTicket(actor=smith, ticket_id=ticket.ticket_id, reason="Λάθος ουρά"), deps
    )
    assert summary.assignee is None
    (published,) = contract_events(db.ticket(ticket.ticket_id), start=2)
    assert isinstance(published, TicketUnassigned)
    assert (published.reason, published.note, published.by) == (
        "unassigned",
        "Λάθος ουρά",
        smith.user_id,
    )
    await commands.change_status(
        ChangeStatus(actor=smith, ticket_id=ticket.ticket_id, status=TicketStatus.RESOLVED), deps
    )
    await commands.change_status(
        ChangeStatus(actor=smith, ticket_id=ticket.ticket_id, status=TicketStatus.CLOSED), deps
    )
    await _refused("ticket_closed", commands.unassign(unassign, deps))


async def test_an_unassigned_ticket_goes_to_someone_else_or_waits(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps
) -> None:
    admin = db.add_user("Admin", Role.ADMIN)
    smith, jones = db.add_user("Smith", Role.AGENT), db.add_user("Jones", Role.AGENT)
    await members(db, deps, admin, smith, jones)
    ticket = await submit(db, deps, db.add_user("Μαρία"))
    await commands.assign(AssignTicket(actor=smith, ticket_id=ticket.ticket_id), deps)

    async def unassigned_by(actor: Actor) -> TicketUnassigned:
        await commands.unassign(UnassignTicket(actor=actor, ticket_id=ticket.ticket_id), deps)
        stream = db.ticket(ticket.ticket_id)
        (event,) = contract_events(stream, start=stream.version - 1)
        assert isinstance(event, TicketUnassigned)
        return event

    # Smith has fewer open tickets than anyone (none once it is taken off him),
    # yet the queue's policy passes him over: Jones gets it.
    await assignment.on_unassigned(await unassigned_by(smith), on_event)
    assert assignee_of(db, ticket.ticket_id) == jones.user_id
    # With Smith away, the only other member is Jones, whom it was taken from: it waits.
    await agents.set_availability(contract.SetAvailability(actor=smith, available=False), deps)
    await assignment.on_unassigned(await unassigned_by(smith), on_event)
    assert assignee_of(db, ticket.ticket_id) is None


async def test_with_nobody_available_the_queue_s_admins_are_told_once_until_assigned(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps
) -> None:
    lead = db.add_user("Lead", Role.ADMIN)
    db.add_user("Other admin", Role.ADMIN)  # not a member: the queue has its own admin
    smith = db.add_user("Smith", Role.AGENT)
    await members(db, deps, lead, lead, smith)
    for away in (lead, smith):
        await agents.set_availability(contract.SetAvailability(actor=away, available=False), deps)
    ticket = await submit(db, deps, db.add_user("Μαρία"))
    await assignment.on_submitted(ticket, on_event)
    await assignment.on_submitted(ticket, on_event)  # redelivered: told once
    (told,) = [x for x in db.streams[ticket.ticket_id] if isinstance(x, e.AwaitingAgent)]
    assert [a.user_id for a in told.admins] == [lead.user_id]
    (published,) = contract_events(db.ticket(ticket.ticket_id), start=1)
    assert isinstance(published, TicketAwaitingAgent)
    assert (published.queue, published.subject_line) == ("service-desk", "VPN")
    # Agents see it on the timeline; the requester does not.
    maria = db.ticket(ticket.ticket_id).requester
    assert maria is not None
    as_agent = await queries.get_ticket(GetTicket(actor=smith, ticket_id=ticket.ticket_id), deps)
    assert as_agent.timeline[-1].kind == "TicketAwaitingAgent"
    customer = Actor(user_id=maria.user_id, roles=[Role.CUSTOMER])
    as_requester = await queries.get_ticket(
        GetTicket(actor=customer, ticket_id=ticket.ticket_id), deps
    )
    assert [x.kind for x in as_requester.timeline] == ["TicketSubmitted"]
    # Assigned, then given back with nobody there: told again.
    await commands.assign(AssignTicket(actor=smith, ticket_id=ticket.ticket_id), deps)
    await commands.unassign(UnassignTicket(actor=smith, ticket_id=ticket.ticket_id), deps)
    stream = db.ticket(ticket.ticket_id)
    (unassigned,) = contract_events(stream, start=stream.version - 1)
    assert isinstance(unassigned, TicketUnassigned)
    await assignment.on_unassigned(unassigned, on_event)
    assert db.events_of(ticket.ticket_id).count(e.AwaitingAgent) == 2


async def test_a_queue_nobody_was_put_in_tells_nobody(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps
) -> None:
    db.add_user("Admin", Role.ADMIN)
    ticket = await submit(db, deps, db.add_user("Μαρία"))
    await assignment.on_submitted(ticket, on_event)
    assert db.events_of(ticket.ticket_id) == [e.Submitted]

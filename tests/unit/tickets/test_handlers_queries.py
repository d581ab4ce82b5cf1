"""Every query of the tickets service against in-memory fakes."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from helpdesk.contracts import agents, export, reports
from helpdesk.contracts import attachments as attachments_contract
from helpdesk.contracts import tickets as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.messages import is_request_type
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    AddMessage,
    AssignTicket,
    ChangeStatus,
    GetTicket,
    ListPriorities,
    ListTickets,
    TicketStatus,
)
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.handlers import HANDLERS, commands, queries
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.sla import SlaMonitor
from tests.unit.tickets.fakes import FakeDatabase
from tests.unit.tickets.test_handlers_commands import submit

S = TicketStatus


async def listed(deps: Deps, actor: Actor, **filters: object) -> list[str]:
    page = await queries.list_tickets(ListTickets(actor=actor, **filters), deps)  # type: ignore[arg-type]
    return [item.number for item in page.items]


# --- get ------------------------------------------------------------------------------------


async def test_the_requester_sees_their_ticket_without_internal_notes_or_sla_alarms(
    deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Agent Smith", Role.AGENT)
    ticket = await submit(deps, maria, Priority.HIGH)
    await commands.assign(AssignTicket(actor=agent, ticket_id=ticket.ticket_id), deps)
    await commands.add_message(
        AddMessage(actor=agent, ticket_id=ticket.ticket_id, body="secret", internal=True), deps
    )
    await commands.add_message(
        AddMessage(actor=agent, ticket_id=ticket.ticket_id, body="Καλημέρα"), deps
    )
    clock.advance(timedelta(hours=7))  # the resolution target (8 business h) warns at 6.4 h
    assert await SlaMonitor(deps).run_once() == 1

    seen_by_maria = await queries.get_ticket(
        GetTicket(actor=maria, ticket_id=ticket.ticket_id), deps
    )
    assert [(e.kind, e.body) for e in seen_by_maria.timeline] == [
        ("TicketSubmitted", "Από το πρωί."),
        ("TicketAssigned", None),
        ("TicketMessageAdded", "Καλημέρα"),
    ]
    assert seen_by_maria.timeline[1].details["assignee"] == "Agent Smith"
    assert seen_by_maria.timeline[2].author is not None
    assert seen_by_maria.timeline[2].author.name == "Agent Smith"
    assert seen_by_maria.first_responded_at is not None
    assert seen_by_maria.version == 5

    seen_by_agent = await queries.get_ticket(
        GetTicket(actor=agent, ticket_id=ticket.ticket_id), deps
    )
    assert [e.kind for e in seen_by_agent.timeline] == [
        "TicketSubmitted",
        "TicketAssigned",
        "TicketMessageAdded",
        "TicketMessageAdded",
        "TicketSlaWarning",
    ]
    assert seen_by_agent.timeline[2].internal
    assert seen_by_agent.timeline[4].details["target"] == "resolution"


async def test_someone_elses_ticket_is_not_found(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    nikos = db.add_user("Νίκος")
    agent = db.add_user("Agent", Role.AGENT)
    ticket = await submit(deps, maria)
    for actor, ticket_id in ((nikos, ticket.ticket_id), (agent, uuid4())):
        with pytest.raises(Refused) as caught:
            await queries.get_ticket(GetTicket(actor=actor, ticket_id=ticket_id), deps)
        assert caught.value.error.code == "not_found"
        assert caught.value.message == "no such ticket"


# --- list -----------------------------------------------------------------------------------


async def test_customers_list_their_own_tickets_newest_first_whatever_they_filter(
    deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    nikos = db.add_user("Νίκος")
    agent = db.add_user("Agent", Role.AGENT)
    first = await submit(deps, maria)
    clock.advance(timedelta(minutes=1))
    await submit(deps, nikos)
    clock.advance(timedelta(minutes=1))
    second = await submit(deps, maria, Priority.HIGH)
    await commands.change_status(
        ChangeStatus(actor=maria, ticket_id=first.ticket_id, status=S.CLOSED), deps
    )
    assert await listed(deps, maria) == [second.number, first.number]  # closed ones too
    # Filters narrow, never widen: agents' filters mean nothing for a customer.
    assert await listed(deps, maria, assignee_id=agent.user_id) == [
        second.number,
        first.number,
    ]
    assert await listed(deps, maria, queue="incidents") == [second.number, first.number]
    assert await listed(deps, maria, priority=Priority.HIGH) == [second.number]
    assert await listed(deps, maria, status=S.CLOSED) == [first.number]


async def test_agents_list_every_queue_soonest_due_first_closed_only_when_asked(
    deps: Deps, db: FakeDatabase
) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Agent", Role.AGENT)
    low = await submit(deps, maria, Priority.LOW)
    critical = await submit(deps, maria, Priority.CRITICAL)
    high = await submit(deps, maria, Priority.HIGH)
    closed = await submit(deps, maria)
    await commands.change_status(
        ChangeStatus(actor=maria, ticket_id=closed.ticket_id, status=S.CLOSED), deps
    )
    assert await listed(deps, agent) == [critical.number, high.number, low.number]
    assert await listed(deps, agent, status=S.CLOSED) == [closed.number]
    assert await listed(deps, agent, priority=Priority.HIGH) == [high.number]
    assert await listed(deps, agent, queue="incidents") == [critical.number]
    await commands.assign(AssignTicket(actor=agent, ticket_id=low.ticket_id), deps)
    assert await listed(deps, agent, assignee_id=agent.user_id) == [low.number]
    assert await listed(deps, agent, unassigned=True) == [critical.number, high.number]


async def test_pages_follow_the_cursor(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Agent", Role.AGENT)
    numbers = [(await submit(deps, maria, p)).number for p in Priority]
    page = await queries.list_tickets(ListTickets(actor=agent, limit=3), deps)
    assert page.next_cursor is not None
    rest = await queries.list_tickets(
        ListTickets(actor=agent, limit=3, cursor=page.next_cursor), deps
    )
    assert rest.next_cursor is None
    assert sorted(i.number for i in page.items + rest.items) == sorted(numbers)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "bzotMQ", "eDox"])
async def test_a_cursor_we_did_not_issue_is_a_field_error(
    deps: Deps, db: FakeDatabase, cursor: str
) -> None:
    agent = db.add_user("Agent", Role.AGENT)
    with pytest.raises(Refused) as caught:
        await queries.list_tickets(ListTickets(actor=agent, cursor=cursor), deps)
    error = caught.value.error
    assert (error.code, error.message) == ("validation_error", "Some fields are invalid.")
    assert [(f.field, f.message) for f in error.field_errors] == [
        ("cursor", "not a cursor from this API")
    ]


# --- priorities -----------------------------------------------------------------------------


async def test_the_five_priorities_with_labels_and_sla_targets(deps: Deps) -> None:
    listing = await queries.priorities(ListPriorities(), deps)
    assert [i.key for i in listing.items] == list(Priority)
    critical = listing.items[-1]
    assert critical.label == {"el": "Κρίσιμη", "en": "Critical"}
    assert critical.page
    assert critical.sla.first_response_minutes == 15
    assert critical.sla.clock == "24/7"
    assert listing.items[1].sla.first_response == "8 business hours"


def test_every_tickets_request_has_a_handler() -> None:
    # The tickets service also answers the report, attachment and queue requests,
    # and its part of a person's export.
    requests = {export.ExportTickets} | {
        v
        for module in (contract, reports, attachments_contract, agents)
        for v in vars(module).values()
        if is_request_type(v)
    }
    assert set(HANDLERS) == requests

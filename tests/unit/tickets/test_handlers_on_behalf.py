"""A ticket opened by an agent for an employee, and the requester's context beside
it (issue 29) against the in-memory fakes."""

from __future__ import annotations

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    Channel,
    GetTicket,
    ListTickets,
    SubmitTicket,
    TicketSubmitted,
)
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.handlers import commands, queries
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase


def _draft(
    actor: object, requester: str | None, priority: Priority = Priority.HIGH
) -> SubmitTicket:
    return SubmitTicket(
        actor=actor,  # type: ignore[arg-type]
        subject="Δεν τυπώνει",
        description="Τηλεφώνησε στις 10:05.",
        priority=priority,
        requester=requester,
    )


def employees_and_an_agent(db: FakeDatabase) -> tuple[Actor, Actor, Actor]:
    """Μαρία and Νίκος, employees, and Κώστας, an agent."""
    return db.add_user("Μαρία"), db.add_user("Νίκος"), db.add_user("Κώστας", Role.AGENT)


async def test_an_agent_opens_a_ticket_for_an_employee_by_username_or_address(
    db: FakeDatabase, deps: Deps
) -> None:
    maria = db.add_user("Μαρία")
    kostas = db.add_user("Κώστας", Role.AGENT)
    done = await commands.submit(_draft(kostas, "μαρία"), deps)
    ticket = db.ticket(done.ticket_id)
    assert ticket.requester is not None
    assert ticket.requester.user_id == maria.user_id
    (submitted,) = contract_events(ticket, start=0)
    assert isinstance(submitted, TicketSubmitted)
    # Μαρία is the requester (she gets the usual confirmation); Κώστας opened it.
    assert submitted.requester.user_id == maria.user_id
    assert submitted.channel is Channel.AGENT
    assert submitted.opened_by is not None
    assert submitted.opened_by.user_id == kostas.user_id

    address = db.users[maria.user_id].contact.email
    assert address is not None
    again = await commands.submit(_draft(kostas, address.upper()), deps)
    assert db.ticket(again.ticket_id).channel is Channel.AGENT

    as_agent = await queries.get_ticket(GetTicket(actor=kostas, ticket_id=done.ticket_id), deps)
    assert (as_agent.channel, as_agent.requester_email) == (Channel.AGENT, address)
    assert as_agent.opened_by is not None
    assert as_agent.opened_by.name == "Κώστας"
    assert as_agent.timeline[0].details["channel"] == "agent"
    as_maria = await queries.get_ticket(GetTicket(actor=maria, ticket_id=done.ticket_id), deps)
    assert as_maria.requester_email is None  # the context is for agents


async def test_only_agents_open_for_others_and_only_for_someone_known(
    db: FakeDatabase, deps: Deps
) -> None:
    maria, nikos, kostas = employees_and_an_agent(db)
    with pytest.raises(Refused) as refused:
        await commands.submit(_draft(nikos, "μαρία"), deps)
    assert refused.value.error.code == "forbidden"
    with pytest.raises(Refused) as refused:
        await commands.submit(_draft(kostas, "nobody@example.com"), deps)
    assert refused.value.error.code == "not_found"
    assert [f.field for f in refused.value.error.field_errors] == ["requester"]
    assert db.event_count() == 0
    own = await commands.submit(_draft(maria, None), deps)
    assert db.ticket(own.ticket_id).channel is Channel.PORTAL


async def test_an_agent_lists_one_requester_s_tickets_in_every_queue(
    db: FakeDatabase, deps: Deps
) -> None:
    maria, nikos, kostas = employees_and_an_agent(db)
    high = await commands.submit(_draft(maria, None), deps)  # service-desk
    urgent = await commands.submit(_draft(maria, None, Priority.URGENT), deps)  # incidents
    await commands.submit(_draft(nikos, None), deps)
    found = await queries.list_tickets(ListTickets(actor=kostas, requester_id=maria.user_id), deps)
    assert {t.ticket_id for t in found.items} == {high.ticket_id, urgent.ticket_id}

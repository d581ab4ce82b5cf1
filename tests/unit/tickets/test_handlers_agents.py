"""Use cases of queues and availability against the in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.contracts import agents as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import AssignTicket, ListTickets, SubmitTicket
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.handlers import agents, commands, queries
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase


def people(db: FakeDatabase) -> tuple[Actor, Actor, Actor]:
    """An admin, an agent and a customer."""
    return db.add_user("Admin", Role.ADMIN), db.add_user("Agent", Role.AGENT), db.add_user("Maria")


async def test_only_admins_set_members_and_only_active_agents_can_be_members(
    db: FakeDatabase, deps: Deps
) -> None:
    admin, agent, customer = people(db)
    with pytest.raises(Refused) as refused:
        await agents.set_queue_members(
            contract.SetQueueMembers(actor=agent, queue="service-desk", agent_ids=[agent.user_id]),
            deps,
        )
    assert refused.value.error.code == "forbidden"
    with pytest.raises(Refused) as refused:
        await agents.set_queue_members(
            contract.SetQueueMembers(
                actor=admin, queue="service-desk", agent_ids=[agent.user_id, customer.user_id]
            ),
            deps,
        )
    assert refused.value.error.code == "validation_error"
    assert [e.field for e in refused.value.error.field_errors] == ["agent_ids.1"]
    with pytest.raises(Refused) as refused:
        await agents.set_queue_members(
            contract.SetQueueMembers(actor=admin, queue="nowhere", agent_ids=[]), deps
        )
    assert refused.value.error.code == "not_found"

    info = await agents.set_queue_members(
        contract.SetQueueMembers(actor=admin, queue="service-desk", agent_ids=[agent.user_id]),
        deps,
    )
    assert [m.user_id for m in info.members] == [agent.user_id]
    assert info.assignment == "least_open"
    assert info.priorities == [Priority.LOW, Priority.NORMAL, Priority.HIGH]
    (changed,) = db.agent_events
    assert isinstance(changed, contract.QueueMembersChanged)
    assert (changed.added, changed.removed, changed.by) == ([agent.user_id], [], admin.user_id)
    # The same members again: no event.
    await agents.set_queue_members(
        contract.SetQueueMembers(actor=admin, queue="service-desk", agent_ids=[agent.user_id]),
        deps,
    )
    assert len(db.agent_events) == 1


async def test_customers_have_no_availability(db: FakeDatabase, deps: Deps) -> None:
    customer = db.add_user("Maria")
    with pytest.raises(Refused) as refused:
        await agents.set_availability(
            contract.SetAvailability(actor=customer, available=False), deps
        )
    assert refused.value.error.code == "forbidden"


async def test_going_away_for_long_hands_back_open_tickets(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    agent = db.add_user("Agent", Role.AGENT)
    customer = db.add_user("Maria")
    submitted = await commands.submit(
        SubmitTicket(actor=customer, subject="Printer", description="Jammed", priority="normal"),
        deps,
    )
    await commands.assign(AssignTicket(actor=agent, ticket_id=submitted.ticket_id), deps)

    soon = clock.now() + timedelta(hours=3)
    with pytest.raises(Refused) as refused:
        await agents.set_availability(
            contract.SetAvailability(actor=agent, available=False, back_at=soon, hand_back=True),
            deps,
        )
    assert [e.field for e in refused.value.error.field_errors] == ["hand_back"]

    later = clock.now() + timedelta(days=3)
    result = await agents.set_availability(
        contract.SetAvailability(actor=agent, available=False, back_at=later, hand_back=True),
        deps,
    )
    assert (result.available, result.back_at, result.handed_back) == (False, later, 1)
    assert db.ticket(submitted.ticket_id).assignee is None
    mine = await agents.availability(contract.GetAvailability(actor=agent), deps)
    assert (mine.available, mine.back_at) == (False, later)


async def test_agents_see_their_queues_unless_they_ask_for_all(
    db: FakeDatabase, deps: Deps
) -> None:
    admin, agent, customer = people(db)
    for priority in ("normal", "urgent"):
        await commands.submit(
            SubmitTicket(actor=customer, subject="x", description="y", priority=priority), deps
        )
    everything = await queries.list_tickets(ListTickets(actor=agent), deps)
    assert {t.queue for t in everything.items} == {"service-desk", "incidents"}
    await agents.set_queue_members(
        contract.SetQueueMembers(actor=admin, queue="incidents", agent_ids=[agent.user_id]), deps
    )
    mine = await queries.list_tickets(ListTickets(actor=agent), deps)
    assert {t.queue for t in mine.items} == {"incidents"}
    asked = await queries.list_tickets(ListTickets(actor=agent, all_queues=True), deps)
    assert len(asked.items) == 2

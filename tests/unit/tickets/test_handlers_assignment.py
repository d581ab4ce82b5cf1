"""The automatic assignment's event handlers (`handlers/assignment.py`) against the
in-memory fakes: who gets a ticket, when it waits, and what a deactivation takes
back. Their exactly-once under replicas runs on PostgreSQL in
tests/integration/tickets/test_assignment_once.py."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar
from uuid import UUID

from helpdesk.contracts import agents as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.people import UserDeactivated, UserReactivated
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import SubmitTicket, TicketSubmitted
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.domain.events import Assigned, Unassigned
from helpdesk.tickets.handlers import agents, assignment, commands
from helpdesk.tickets.handlers.assignment import AssignmentDeps
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase

E = TypeVar("E", bound=EventData)


async def members(
    db: FakeDatabase, deps: Deps, admin: Actor, *people: Actor
) -> contract.QueueMembersChanged:
    await agents.set_queue_members(
        contract.SetQueueMembers(
            actor=admin, queue="service-desk", agent_ids=[p.user_id for p in people]
        ),
        deps,
    )
    return last_agents_event(db, contract.QueueMembersChanged)


def last_agents_event(db: FakeDatabase, kind: type[E]) -> E:
    found = [e for e in db.agent_events if isinstance(e, kind)]
    return found[-1]


async def submit(db: FakeDatabase, deps: Deps, customer: Actor) -> TicketSubmitted:
    done = await commands.submit(
        SubmitTicket(actor=customer, subject="VPN", description="x", priority=Priority.NORMAL),
        deps,
    )
    (submitted, *_) = contract_events(db.ticket(done.ticket_id), start=0)
    assert isinstance(submitted, TicketSubmitted)
    return submitted


async def one_agent_and_a_ticket(
    db: FakeDatabase, deps: Deps
) -> tuple[Actor, Actor, TicketSubmitted]:
    """Alpha, the service desk's one agent (set by an admin), and Maria's new ticket."""
    admin = db.add_user("Admin", Role.ADMIN)
    alpha = db.add_user("Alpha", Role.AGENT)
    await members(db, deps, admin, alpha)
    return admin, alpha, await submit(db, deps, db.add_user("Maria"))


def assignee_of(db: FakeDatabase, ticket_id: UUID) -> UUID | None:
    assignee = db.ticket(ticket_id).assignee
    return assignee.user_id if assignee else None


async def test_a_submitted_ticket_goes_to_the_available_member_with_the_fewest_open(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps, clock: ManualClock
) -> None:
    admin = db.add_user("Admin", Role.ADMIN)
    alpha, beta, gamma = (db.add_user(n, Role.AGENT) for n in ("Alpha", "Beta", "Gamma"))
    customer = db.add_user("Maria")
    await members(db, deps, admin, alpha, beta, gamma)
    await agents.set_availability(contract.SetAvailability(actor=gamma, available=False), deps)

    first = await submit(db, deps, customer)
    await assignment.on_submitted(first, on_event)
    clock.advance(timedelta(minutes=1))
    second = await submit(db, deps, customer)
    await assignment.on_submitted(second, on_event)

    # Alpha and Beta tie on none open and never assigned: the earlier member (or
    # smaller id) first, then the other one; Gamma is away.
    assert {assignee_of(db, first.ticket_id), assignee_of(db, second.ticket_id)} == {
        alpha.user_id,
        beta.user_id,
    }
    (assigned,) = [e for e in db.streams[second.ticket_id] if isinstance(e, Assigned)]
    assert assigned.reason is not None
    assert (assigned.reason.trigger, assigned.reason.open_tickets) == ("submitted", 0)
    assert set(assigned.reason.candidates) == {alpha.user_id, beta.user_id}


async def test_handled_twice_a_submission_is_assigned_once(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps
) -> None:
    _admin, _alpha, submitted = await one_agent_and_a_ticket(db, deps)

    await assignment.on_submitted(submitted, on_event)
    await assignment.on_submitted(submitted, on_event)  # redelivered

    assert db.events_of(submitted.ticket_id).count(Assigned) == 1


async def test_with_everyone_away_the_ticket_waits_until_an_agent_is_back(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps
) -> None:
    admin = db.add_user("Admin", Role.ADMIN)
    alpha = db.add_user("Alpha", Role.AGENT)
    await members(db, deps, admin, alpha)
    await agents.set_availability(contract.SetAvailability(actor=alpha, available=False), deps)
    waiting = [await submit(db, deps, db.add_user(f"Customer {n}")) for n in range(3)]
    for submitted in waiting:
        await assignment.on_submitted(submitted, on_event)
    assert all(assignee_of(db, s.ticket_id) is None for s in waiting)

    await agents.set_availability(contract.SetAvailability(actor=alpha, available=True), deps)
    back = last_agents_event(db, contract.AgentAvailabilityChanged)
    await assignment.on_availability_changed(back, on_event)

    assert [assignee_of(db, s.ticket_id) for s in waiting] == [alpha.user_id] * 3


async def test_a_new_member_takes_the_queue_s_waiting_tickets(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps
) -> None:
    admin = db.add_user("Admin", Role.ADMIN)
    submitted = await submit(db, deps, db.add_user("Maria"))
    await assignment.on_submitted(submitted, on_event)  # no members yet: it waits
    assert assignee_of(db, submitted.ticket_id) is None

    alpha = db.add_user("Alpha", Role.AGENT)
    changed = await members(db, deps, admin, alpha)
    await assignment.on_members_changed(changed, on_event)

    assert assignee_of(db, submitted.ticket_id) == alpha.user_id


async def test_a_deactivated_agent_s_open_tickets_go_back_to_the_queue(
    db: FakeDatabase, deps: Deps, on_event: AssignmentDeps, clock: ManualClock
) -> None:
    admin, alpha, submitted = await one_agent_and_a_ticket(db, deps)
    await assignment.on_submitted(submitted, on_event)
    assert assignee_of(db, submitted.ticket_id) == alpha.user_id

    deactivated = UserDeactivated(
        user_id=alpha.user_id, username="alpha", by=admin.user_id, deactivated_at=clock.now()
    )
    await assignment.on_deactivated(deactivated, on_event)

    assert assignee_of(db, submitted.ticket_id) is None
    (unassigned,) = [e for e in db.streams[submitted.ticket_id] if isinstance(e, Unassigned)]
    assert unassigned.reason == "deactivated"
    assert not db.users[alpha.user_id].active
    # A reactivation older than the deactivation changes nothing.
    stale = AssignmentDeps(
        on_event.uow, on_event.policy, on_event.clock, clock.now() - timedelta(hours=1)
    )
    reactivated = UserReactivated(
        user_id=alpha.user_id, username="alpha", reactivated_at=stale.occurred_at
    )
    await assignment.on_reactivated(reactivated, stale)
    assert not db.users[alpha.user_id].active

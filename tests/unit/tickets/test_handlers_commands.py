"""Every command of the tickets service against in-memory fakes: what it answers,
what it refuses (with the reply code the gateway maps), and what it stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    AddMessage,
    AssignTicket,
    ChangePriority,
    ChangeStatus,
    Submitted,
    SubmitTicket,
    TicketStatus,
)
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.handlers import commands
from helpdesk.tickets.handlers.deps import Deps, UnitOfWork
from tests.unit.tickets.conftest import MONDAY_9
from tests.unit.tickets.fakes import FakeDatabase

S = TicketStatus


async def submit(deps: Deps, actor: Actor, priority: Priority = Priority.NORMAL) -> Submitted:
    return await commands.submit(
        SubmitTicket(
            actor=actor,
            subject="Δεν ανοίγει το Outlook",
            description="Από το πρωί.",
            priority=priority,
        ),
        deps,
    )


async def opened(db: FakeDatabase, deps: Deps) -> tuple[Actor, Actor, Submitted]:
    """The usual scene: Μαρία's new ticket, and an agent."""
    maria = db.add_user("Μαρία")
    agent = db.add_user("Agent", Role.AGENT)
    return maria, agent, await submit(deps, maria)


async def refused(code: str, handler_call: object) -> Refused:
    with pytest.raises(Refused) as caught:
        await handler_call  # type: ignore[misc]
    assert caught.value.error.code == code, caught.value.error
    return caught.value


# --- submit ---------------------------------------------------------------------------------


async def test_submit_numbers_routes_and_stores_the_requesters_contact(
    deps: Deps, db: FakeDatabase
) -> None:
    maria = db.add_user("Μαρία")
    first = await submit(deps, maria)
    assert first.number == "HD-2026-000001"
    assert first.status is S.SUBMITTED
    assert first.queue == "service-desk"
    assert first.first_response_due == MONDAY_9.replace(hour=17)
    second = await submit(deps, maria, Priority.CRITICAL)
    assert second.number == "HD-2026-000002"
    assert second.queue == "incidents"
    (submitted,) = db.streams[first.ticket_id]
    assert isinstance(submitted, e.Submitted)
    assert submitted.requester == db.users[maria.user_id].contact


async def test_a_submit_without_a_key_asks_for_a_one_statement_unit_of_work(
    deps: Deps, db: FakeDatabase
) -> None:
    """No Idempotency-Key: no transaction, one statement. A key's claim must be seen
    by a concurrent retry before the ticket is written: a transaction."""
    maria = db.add_user("Μαρία")
    asked: list[bool] = []
    make = deps.uow

    def recording(*, one_statement: bool = False) -> UnitOfWork:
        asked.append(one_statement)
        return make(one_statement=one_statement)

    deps = replace(deps, uow=recording)
    await submit(deps, maria)
    keyed = SubmitTicket(
        actor=maria, subject="Printer", description="x", priority=Priority.LOW, idempotency_key="k"
    )
    await commands.submit(keyed, deps)
    assert asked == [True, False]


async def test_submit_before_identitys_event_arrived_says_retry_shortly(
    deps: Deps, db: FakeDatabase
) -> None:
    stranger = Actor(user_id=uuid4(), roles=[Role.CUSTOMER])
    refusal = await refused("unavailable", submit(deps, stranger))
    assert refusal.error.retry_after == 1
    assert refusal.message == "Your account is still being set up; try again."
    assert db.streams == {}
    assert db.numbers == {}  # no number taken


# --- add_message ----------------------------------------------------------------------------


async def test_an_agents_public_reply_opens_the_ticket_and_stops_the_first_response_clock(
    deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    _maria, agent, ticket = await opened(db, deps)
    clock.advance(timedelta(minutes=30))
    note = await commands.add_message(
        AddMessage(actor=agent, ticket_id=ticket.ticket_id, body="note", internal=True), deps
    )
    assert note.status is S.SUBMITTED
    reply = await commands.add_message(
        AddMessage(actor=agent, ticket_id=ticket.ticket_id, body="Καλημέρα"), deps
    )
    assert reply.status is S.OPEN
    stored = db.streams[ticket.ticket_id][-1]
    assert isinstance(stored, e.MessageAdded)
    assert stored.message_id == reply.message_id
    assert stored.first_response
    assert db.ticket(ticket.ticket_id).sla.first_response_due is None


async def test_the_requesters_reply_reopens_a_pending_ticket(deps: Deps, db: FakeDatabase) -> None:
    maria, agent, ticket = await opened(db, deps)
    await commands.change_status(
        ChangeStatus(actor=agent, ticket_id=ticket.ticket_id, status=S.PENDING), deps
    )
    answer = await commands.add_message(
        AddMessage(actor=maria, ticket_id=ticket.ticket_id, body="Ορίστε."), deps
    )
    assert answer.status is S.OPEN


@pytest.mark.parametrize(
    ("handler", "command", "fields", "message"),
    [
        (
            commands.add_message,
            AddMessage,
            {"body": "psst", "internal": True},
            "only agents may add internal notes",
        ),
        (
            commands.change_priority,
            ChangePriority,
            {"priority": Priority.CRITICAL},
            "only agents may change the priority",
        ),
    ],
    ids=["internal note", "priority"],
)
async def test_a_customer_may_not_use_an_agents_command(
    handler: Any, command: Any, fields: dict[str, Any], message: str, deps: Deps, db: FakeDatabase
) -> None:
    maria = db.add_user("Μαρία")
    ticket = await submit(deps, maria)
    attempt = command(actor=maria, ticket_id=ticket.ticket_id, **fields)
    refusal = await refused("forbidden", handler(attempt, deps))
    assert refusal.message == message
    assert db.events_of(ticket.ticket_id) == [e.Submitted]


async def test_no_message_on_a_closed_ticket(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    ticket = await submit(deps, maria)
    await commands.change_status(
        ChangeStatus(actor=maria, ticket_id=ticket.ticket_id, status=S.CLOSED), deps
    )
    refusal = await refused(
        "ticket_closed",
        commands.add_message(AddMessage(actor=maria, ticket_id=ticket.ticket_id, body="?"), deps),
    )
    assert refusal.message == f"ticket {ticket.number} is closed"


async def test_someone_elses_ticket_does_not_exist_for_a_customer(
    deps: Deps, db: FakeDatabase
) -> None:
    maria = db.add_user("Μαρία")
    nikos = db.add_user("Νίκος")
    ticket = await submit(deps, maria)
    refusal = await refused(
        "not_found",
        commands.add_message(AddMessage(actor=nikos, ticket_id=ticket.ticket_id, body="hi"), deps),
    )
    assert refusal.message == "no such ticket"
    await refused(
        "not_found",
        commands.add_message(AddMessage(actor=nikos, ticket_id=uuid4(), body="hi"), deps),
    )


# --- change_status --------------------------------------------------------------------------


async def test_change_status_answers_the_changed_summary(deps: Deps, db: FakeDatabase) -> None:
    _maria, agent, ticket = await opened(db, deps)
    summary = await commands.change_status(
        ChangeStatus(actor=agent, ticket_id=ticket.ticket_id, status=S.PENDING), deps
    )
    assert summary.status is S.PENDING
    assert summary.resolution_due is None  # pending pauses the resolution clock
    assert summary.version == 2
    assert db.events_of(ticket.ticket_id) == [e.Submitted, e.StatusChanged]


async def test_an_invalid_transition_is_409_and_stores_nothing(
    deps: Deps, db: FakeDatabase
) -> None:
    _maria, agent, ticket = await opened(db, deps)
    refusal = await refused(
        "invalid_transition",
        commands.change_status(
            ChangeStatus(actor=agent, ticket_id=ticket.ticket_id, status=S.CLOSED), deps
        ),
    )
    assert refusal.message == "a submitted ticket cannot become closed"
    assert db.events_of(ticket.ticket_id) == [e.Submitted]


async def test_customers_only_close_or_reopen(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    ticket = await submit(deps, maria)
    await refused(
        "forbidden",
        commands.change_status(
            ChangeStatus(actor=maria, ticket_id=ticket.ticket_id, status=S.RESOLVED), deps
        ),
    )
    closed = await commands.change_status(
        ChangeStatus(actor=maria, ticket_id=ticket.ticket_id, status=S.CLOSED), deps
    )
    assert closed.status is S.CLOSED
    await refused(
        "ticket_closed",
        commands.change_status(
            ChangeStatus(actor=maria, ticket_id=ticket.ticket_id, status=S.OPEN), deps
        ),
    )


# --- change_priority ------------------------------------------------------------------------


async def test_raising_the_priority_reroutes_and_recomputes_the_due_times(
    deps: Deps, db: FakeDatabase
) -> None:
    _maria, agent, ticket = await opened(db, deps)
    summary = await commands.change_priority(
        ChangePriority(actor=agent, ticket_id=ticket.ticket_id, priority=Priority.URGENT), deps
    )
    assert summary.priority is Priority.URGENT
    assert summary.queue == "incidents"
    assert summary.first_response_due == MONDAY_9 + timedelta(minutes=30)
    changed = db.streams[ticket.ticket_id][-1]
    assert isinstance(changed, e.PriorityChanged)
    assert changed.page
    # The same priority again changes nothing.
    await commands.change_priority(
        ChangePriority(actor=agent, ticket_id=ticket.ticket_id, priority=Priority.URGENT), deps
    )
    assert len(db.streams[ticket.ticket_id]) == 2


# --- assign ---------------------------------------------------------------------------------


async def assign(
    deps: Deps, actor: Actor, ticket_id: UUID, assignee: Actor | UUID | None = None, **kw: bool
) -> object:
    assignee_id = assignee.user_id if isinstance(assignee, Actor) else assignee
    return await commands.assign(
        AssignTicket(actor=actor, ticket_id=ticket_id, assignee_id=assignee_id, **kw), deps
    )


async def test_an_agent_takes_a_ticket_which_opens_it(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Agent Smith", Role.AGENT)
    ticket = await submit(deps, maria)
    summary = await assign(deps, agent, ticket.ticket_id)
    assert summary.status is S.OPEN  # type: ignore[attr-defined]
    assert summary.assignee.name == "Agent Smith"  # type: ignore[attr-defined]
    # Repeating it is harmless: nothing new is recorded.
    await assign(deps, agent, ticket.ticket_id, agent)
    assert db.events_of(ticket.ticket_id) == [e.Submitted, e.Assigned]


async def test_only_agents_can_be_assignees(deps: Deps, db: FakeDatabase) -> None:
    maria, agent, ticket = await opened(db, deps)
    for assignee in (maria, uuid4()):  # a customer; someone identity never told us of
        refusal = await refused("validation_error", assign(deps, agent, ticket.ticket_id, assignee))
        assert refusal.message == "tickets can only be assigned to agents"
        assert [(f.field, f.message) for f in refusal.error.field_errors] == [
            ("assignee_id", "not an agent")
        ]
    assert db.events_of(ticket.ticket_id) == [e.Submitted]


async def test_customers_may_not_assign(deps: Deps, db: FakeDatabase) -> None:
    maria, agent, ticket = await opened(db, deps)
    await refused("forbidden", assign(deps, maria, ticket.ticket_id))
    await refused("forbidden", assign(deps, maria, ticket.ticket_id, agent))


async def test_another_assignee_needs_reassign(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    smith = db.add_user("Agent Smith", Role.AGENT)
    jones = db.add_user("Agent Jones", Role.ADMIN)
    ticket = await submit(deps, maria)
    await assign(deps, smith, ticket.ticket_id)
    refusal = await refused("already_assigned", assign(deps, smith, ticket.ticket_id, jones))
    assert refusal.message == f"ticket {ticket.number} is already assigned to Agent Smith"
    summary = await assign(deps, smith, ticket.ticket_id, jones, reassign=True)
    assert summary.assignee.user_id == jones.user_id  # type: ignore[attr-defined]
    taken = db.streams[ticket.ticket_id][-1]
    assert isinstance(taken, e.Assigned)
    assert taken.previous_assignee_id == smith.user_id


async def test_the_loser_of_a_simultaneous_assign_is_retried_and_gets_409(
    deps: Deps, db: FakeDatabase
) -> None:
    maria = db.add_user("Μαρία")
    smith = db.add_user("Agent Smith", Role.AGENT)
    jones = db.add_user("Agent Jones", Role.AGENT)
    ticket = await submit(deps, maria)

    def smith_gets_there_first() -> None:
        winner = db.ticket(ticket.ticket_id)
        winner.assign(
            _caller(db, smith),
            db.users[smith.user_id].contact,
            assignee_is_agent=True,
            reassign=False,
            policy=deps.policy,
            now=deps.clock.now(),
        )
        db.streams[ticket.ticket_id] = list(winner.history)

    db.before_next_save = smith_gets_there_first
    await refused("already_assigned", assign(deps, jones, ticket.ticket_id))
    assert db.events_of(ticket.ticket_id) == [e.Submitted, e.Assigned]


async def test_a_stream_that_keeps_moving_is_a_conflict_in_the_end(
    deps: Deps, db: FakeDatabase
) -> None:
    _maria, agent, ticket = await opened(db, deps)
    moves = 0

    def someone_else_writes() -> None:
        nonlocal moves
        moves += 1
        other = db.ticket(ticket.ticket_id)
        other.add_message(
            _caller(db, agent), body="busy", internal=True, policy=deps.policy, now=deps.clock.now()
        )
        db.streams[ticket.ticket_id] = list(other.history)
        if moves < 5:
            db.before_next_save = someone_else_writes

    db.before_next_save = someone_else_writes
    await refused(
        "conflict",
        commands.change_status(
            ChangeStatus(actor=agent, ticket_id=ticket.ticket_id, status=S.PENDING), deps
        ),
    )
    assert moves == 5


def _caller(db: FakeDatabase, actor: Actor) -> Caller:
    return Caller.of(actor, db.users[actor.user_id].contact)

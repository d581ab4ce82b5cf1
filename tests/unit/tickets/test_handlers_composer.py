"""The agent's composer (issue 29): a reply or note with status, priority and
assignee in one submit, saved as one batch — or, refused, not at all."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import GetTicket, TicketStatus, UpdateTicket
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.handlers import commands, queries
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase
from tests.unit.tickets.test_handlers_assignment import members
from tests.unit.tickets.test_handlers_commands import opened, refused

S = TicketStatus


async def test_a_reply_a_status_a_priority_and_an_assignee_land_as_one_change(
    db: FakeDatabase, deps: Deps
) -> None:
    _, agent, ticket = await opened(db, deps)
    admin = db.add_user("Admin", Role.ADMIN)
    jones = db.add_user("Jones", Role.AGENT)
    await members(db, deps, admin, agent, jones)
    commits = db.commits
    summary = await commands.update(
        UpdateTicket(
            actor=agent,
            ticket_id=ticket.ticket_id,
            body="Δοκιμάστε ξανά τώρα.",
            status=S.PENDING,
            priority=Priority.HIGH,
            assignee_id=jones.user_id,
            reason="Το VPN το ξέρει ο Jones",
        ),
        deps,
    )
    assert db.commits == commits + 1  # one transaction
    batch = db.streams[ticket.ticket_id][1:]
    assert [type(x) for x in batch] == [
        e.MessageAdded,
        e.PriorityChanged,
        e.Assigned,
        e.StatusChanged,
    ]
    assert len({x.at for x in batch}) == 1
    assert (summary.status, summary.priority) == (S.PENDING, Priority.HIGH)
    assert summary.assignee is not None
    assert summary.assignee.user_id == jones.user_id


async def test_a_refused_part_refuses_the_whole_and_stores_nothing(
    db: FakeDatabase, deps: Deps
) -> None:
    maria, agent, ticket = await opened(db, deps)
    # Closing is not an agent's move from submitted: the reply is not stored either.
    update = UpdateTicket(actor=agent, ticket_id=ticket.ticket_id, body="x", status=S.CLOSED)
    await refused("invalid_transition", commands.update(update, deps))
    # A customer may reply, but not set the priority.
    customer = UpdateTicket(
        actor=maria, ticket_id=ticket.ticket_id, body="y", priority=Priority.URGENT
    )
    await refused("forbidden", commands.update(customer, deps))
    assert db.events_of(ticket.ticket_id) == [e.Submitted]


async def test_reply_and_set_resolved_is_one_click(db: FakeDatabase, deps: Deps) -> None:
    _, agent, ticket = await opened(db, deps)
    update = UpdateTicket(
        actor=agent, ticket_id=ticket.ticket_id, body="Λύθηκε.", status=S.RESOLVED
    )
    assert (await commands.update(update, deps)).status is S.RESOLVED
    assert db.events_of(ticket.ticket_id) == [e.Submitted, e.MessageAdded, e.StatusChanged]
    again = UpdateTicket(actor=agent, ticket_id=ticket.ticket_id, unassign=True)
    await commands.update(again, deps)  # nobody had it: nothing to record, no error
    assert db.events_of(ticket.ticket_id)[-1] is e.StatusChanged


def test_an_empty_or_contradictory_composer_is_invalid() -> None:
    actor = Actor(user_id=uuid4(), roles=[Role.AGENT])
    for fields in (
        {},
        {"unassign": True, "assignee_id": uuid4()},
        {"internal": True, "status": S.OPEN},
    ):
        with pytest.raises(ValidationError):
            UpdateTicket(actor=actor, ticket_id=uuid4(), **fields)  # type: ignore[arg-type]


async def test_only_the_moves_the_caller_may_make_are_offered(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    maria, agent, ticket = await opened(db, deps)

    async def offered(actor: Actor) -> list[TicketStatus]:
        query = GetTicket(actor=actor, ticket_id=ticket.ticket_id)
        return (await queries.get_ticket(query, deps)).next_statuses

    assert await offered(agent) == [S.OPEN, S.PENDING, S.RESOLVED]
    assert await offered(maria) == [S.CLOSED]
    await commands.update(
        UpdateTicket(actor=agent, ticket_id=ticket.ticket_id, status=S.RESOLVED), deps
    )
    assert await offered(maria) == [S.OPEN, S.CLOSED]
    clock.advance(timedelta(days=15))
    assert await offered(maria) == [S.CLOSED]  # too late to reopen
    assert await offered(agent) == [S.OPEN, S.CLOSED]

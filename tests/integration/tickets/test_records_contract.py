"""The `PersonalRecords` port (`handlers/deps.py`) in the one contract suite of the
tickets service's ports: the fake the erasure and retention use-case tests run
on (tests/unit/tickets/test_handlers_privacy.py) answers as the PostgreSQL
adapter does. What redacting and projecting again write is PostgreSQL's alone
(test_erasure.py, test_retention.py)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.tickets import ChangeStatus, TicketStatus
from helpdesk.tickets.handlers import commands
from tests.integration.tickets.test_port_contracts import Backend, backend

pytestmark = pytest.mark.integration

__all__ = ["backend"]  # the fixture: every case runs on the fake and on PostgreSQL


async def closed(backend: Backend, agent: Actor, requester: Actor) -> UUID:
    ticket = await backend.submit(requester)
    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        change = ChangeStatus(actor=agent, ticket_id=ticket.ticket_id, status=status)
        await commands.change_status(change, backend.deps)
    return ticket.ticket_id


async def test_a_person_s_requests_are_found_by_requester(backend: Backend) -> None:
    maria, nikos = await backend.add_user("Maria"), await backend.add_user("Nikos")
    mine = [(await backend.submit(maria)).ticket_id for _ in range(2)]
    theirs = await backend.submit(nikos)
    async with backend.deps.uow() as uow:
        assert await uow.records.requested_by(maria.user_id) == sorted(mine)
        assert await uow.records.requested_by(nikos.user_id) == [theirs.ticket_id]
        assert await uow.records.requested_by(uuid4()) == []


async def test_closed_tickets_are_due_oldest_first_until_marked_expired(
    backend: Backend,
) -> None:
    maria = await backend.add_user("Maria")
    agent = await backend.add_user("Agent", Role.AGENT)
    oldest = await closed(backend, agent, maria)
    backend.clock.advance(timedelta(hours=1))
    newer = await closed(backend, agent, maria)
    await backend.submit(maria)  # open: never due
    now = backend.clock.now()
    async with backend.deps.uow() as uow:
        assert await uow.records.closed_before(now - timedelta(hours=2), 10) == []
        assert await uow.records.closed_before(now + timedelta(days=1), 10) == [oldest, newer]
        assert await uow.records.closed_before(now + timedelta(days=1), 1) == [oldest]
        await uow.records.mark_expired(oldest, now)  # not committed: still due
    async with backend.deps.uow() as uow:
        assert await uow.records.closed_before(now + timedelta(days=1), 10) == [oldest, newer]
        await uow.records.mark_expired(oldest, now)
        await uow.commit()
    async with backend.deps.uow() as uow:
        assert await uow.records.closed_before(now + timedelta(days=1), 10) == [newer]


async def test_a_forgotten_person_loses_name_and_the_answers_naming_them(
    backend: Backend,
) -> None:
    maria, nikos = await backend.add_user("Maria"), await backend.add_user("Nikos")
    hers, other = await backend.submit(maria), await backend.submit(nikos)
    async with backend.deps.uow() as uow:
        for user, key, ticket in (
            (maria, "k1", hers),
            (nikos, "k2", hers),  # names her ticket
            (nikos, "k3", other),
        ):
            assert await uow.answers.first(user.user_id, key, "fp") is None
            await uow.answers.remember(user.user_id, key, {"ticket_id": str(ticket.ticket_id)})
        await uow.commit()
    async with backend.deps.uow() as uow:
        await uow.records.forget_person(maria.user_id, [hers.ticket_id])  # rolled back
    async with backend.deps.uow() as uow:
        known = await uow.users.get(maria.user_id)
        assert known is not None
        assert known.contact.name == "Maria"
        await uow.records.forget_person(maria.user_id, [hers.ticket_id])
        await uow.commit()
    async with backend.deps.uow() as uow:
        known = await uow.users.get(maria.user_id)
        assert known is not None
        assert (known.contact.name, known.contact.email) == (None, None)
        assert await uow.answers.first(maria.user_id, "k1", "fp") is None
        assert await uow.answers.first(nikos.user_id, "k2", "fp") is None
        assert await uow.answers.first(nikos.user_id, "k3", "fp") == {
            "ticket_id": str(other.ticket_id)
        }

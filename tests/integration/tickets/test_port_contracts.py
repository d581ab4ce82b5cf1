"""One contract suite for the tickets service's ports (`handlers/deps.py`), run
against the in-memory fakes the use-case tests use (`tests/unit/tickets/fakes.py`)
and against the PostgreSQL adapters: what a use-case test learns from a fake
holds for the real thing, or this suite fails (pyeventsourcing's recorder suite
is the model: one suite, every backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from helpdesk.contracts import agents as agents_contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Contact, Submitted, SubmitTicket
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.events import MessageAdded
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers import agents, commands
from helpdesk.tickets.handlers.deps import (
    Deps,
    IdempotencyKeyReused,
    TicketFilter,
    UnitOfWork,
)
from tests.integration.tickets.conftest import MONDAY_9, started_tickets
from tests.servers import Servers
from tests.unit.tickets.fakes import FakeDatabase, fake_deps

pytestmark = pytest.mark.integration


@dataclass
class Backend:
    name: str
    deps: Deps
    clock: ManualClock
    add_user: Callable[..., Awaitable[Actor]]

    async def submit(self, actor: Actor, subject: str = "VPN") -> Submitted:
        cmd = SubmitTicket(actor=actor, subject=subject, description="x", priority=Priority.NORMAL)
        return await commands.submit(cmd, self.deps)

    async def activate(self, *users: Actor) -> None:
        """`users` active since MONDAY_9 (as the users' events tell the service)."""
        async with self.deps.uow() as uow:
            for user in users:
                await uow.users.set_active(user.user_id, True, MONDAY_9)
            await uow.commit()

    async def set_members(self, admin: Actor, *members: Actor) -> None:
        """The service desk's members, set by `admin`."""
        set_members = agents_contract.SetQueueMembers(
            actor=admin, queue="service-desk", agent_ids=[m.user_id for m in members]
        )
        await agents.set_queue_members(set_members, self.deps)

    def reply(self, ticket: Ticket, author: Actor, body: str) -> None:
        caller = Caller.of(author, Contact(user_id=author.user_id))
        ticket.add_message(
            caller, body=body, internal=False, policy=self.deps.policy, now=self.clock.now()
        )


async def save_and_commit(uow: UnitOfWork, ticket: Ticket, by: Actor) -> None:
    await uow.tickets.save(ticket, by=by.user_id)
    await uow.commit()


def bodies(ticket: Ticket) -> list[str]:
    return [e.body for e in ticket.history if isinstance(e, MessageAdded)]


@pytest.fixture(params=["fake", "postgres"])
async def backend(request: pytest.FixtureRequest, servers: Servers) -> AsyncIterator[Backend]:
    if request.param == "fake":
        db, clock = FakeDatabase(), ManualClock(MONDAY_9)

        async def add_fake_user(name: str, *roles: Role) -> Actor:
            return db.add_user(name, *roles)

        yield Backend("fake", fake_deps(db, clock), clock, add_fake_user)
        return
    # The PostgreSQL adapters, wired as the service wires them.
    async with started_tickets(servers) as pg:
        yield Backend("postgres", pg.app.deps, pg.clock, pg.user)


# --- UserDirectory --------------------------------------------------------------------


async def test_users_are_found_by_id_and_active_ones_by_address_without_case(
    backend: Backend,
) -> None:
    agent = await backend.add_user("Άννα Agent", Role.AGENT)
    async with backend.deps.uow() as uow:
        assert await uow.users.get(uuid4()) is None
        known = await uow.users.get(agent.user_id)
        assert known is not None
        assert known.contact.name == "Άννα Agent"
        assert known.is_agent
        address = known.contact.email
        assert address is not None
        found = await uow.users.active_by_email(f"  {address.upper()} ")
        assert found is not None
        assert found.contact.user_id == agent.user_id
        assert await uow.users.set_active(agent.user_id, False, MONDAY_9)
        await uow.commit()
    async with backend.deps.uow() as uow:
        assert await uow.users.active_by_email(address) is None


async def test_an_older_status_never_overtakes_a_newer_one(backend: Backend) -> None:
    user = await backend.add_user("Maria")
    async with backend.deps.uow() as uow:
        assert await uow.users.set_active(user.user_id, False, MONDAY_9)
        assert not await uow.users.set_active(user.user_id, True, MONDAY_9 - timedelta(hours=1))
        assert await uow.users.set_active(user.user_id, True, MONDAY_9 + timedelta(hours=1))
        await uow.commit()


# --- TicketNumbers --------------------------------------------------------------------


async def test_numbers_rise_within_a_year_and_the_year_is_athens_time(backend: Backend) -> None:
    new_year_in_athens = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 January
    async with backend.deps.uow() as uow:
        first = await uow.numbers.next(MONDAY_9)
        second = await uow.numbers.next(MONDAY_9)
        next_year = await uow.numbers.next(new_year_in_athens)
        await uow.commit()
    assert first.startswith("HD-2026-")
    assert second.startswith("HD-2026-")
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1
    assert next_year.startswith("HD-2027-")


async def test_a_number_comes_with_the_requester_even_when_they_are_unknown(
    backend: Backend,
) -> None:
    maria = await backend.add_user("Maria")
    async with backend.deps.uow() as uow:
        known, number = await uow.numbers.next_with_requester(maria.user_id, MONDAY_9)
        unknown, other = await uow.numbers.next_with_requester(uuid4(), MONDAY_9)
        await uow.commit()
    assert known is not None
    assert known.contact.name == "Maria"
    assert unknown is None
    assert number != other


# --- TicketRepository -----------------------------------------------------------------


async def test_a_saved_ticket_is_loaded_whole_and_found_by_its_number(backend: Backend) -> None:
    maria = await backend.add_user("Maria")
    done = await backend.submit(maria)
    async with backend.deps.uow() as uow:
        ticket = await uow.tickets.get(done.ticket_id)
        assert ticket.exists
        assert ticket.number == done.number
        assert ticket.requester.user_id == maria.user_id
        assert await uow.tickets.id_of_number(done.number) == done.ticket_id
        assert await uow.tickets.id_of_number("HD-1999-000001") is None
        assert not (await uow.tickets.get(uuid4())).exists


async def test_of_two_writers_of_one_ticket_the_second_is_refused(backend: Backend) -> None:
    maria = await backend.add_user("Maria")
    done = await backend.submit(maria)
    first, second = backend.deps.uow(), backend.deps.uow()
    async with first, second:
        mine = await first.tickets.get(done.ticket_id)
        theirs = await second.tickets.get(done.ticket_id)
        backend.reply(mine, maria, "first")
        backend.reply(theirs, maria, "second")
        await first.tickets.save(mine, by=maria.user_id)
        await first.commit()
        with pytest.raises(ConcurrencyError):  # at the save, or at the commit at the latest
            await save_and_commit(second, theirs, maria)
    async with backend.deps.uow() as uow:
        assert bodies(await uow.tickets.get(done.ticket_id)) == ["first"]


async def test_what_is_not_committed_is_not_saved(backend: Backend) -> None:
    maria = await backend.add_user("Maria")
    done = await backend.submit(maria)
    async with backend.deps.uow() as uow:
        ticket = await uow.tickets.get(done.ticket_id)
        backend.reply(ticket, maria, "lost")
        await uow.tickets.save(ticket, by=maria.user_id)
    async with backend.deps.uow() as uow:
        assert bodies(await uow.tickets.get(done.ticket_id)) == []


# --- Answers (Idempotency-Key) --------------------------------------------------------


async def test_a_committed_answer_is_replayed_and_a_different_request_refused(
    backend: Backend,
) -> None:
    user_id = uuid4()
    async with backend.deps.uow() as uow:
        assert await uow.answers.first(user_id, "k1", "fp") is None
        await uow.answers.remember(user_id, "k1", {"ticket": "one"})
        # Rolled back: its claim is gone with it.
        async with backend.deps.uow() as other:
            assert await other.answers.first(user_id, "k2", "fp") is None
        await uow.commit()
    async with backend.deps.uow() as uow:
        assert await uow.answers.first(user_id, "k1", "fp") == {"ticket": "one"}
        with pytest.raises(IdempotencyKeyReused):
            await uow.answers.first(user_id, "k1", "another body")
        assert await uow.answers.first(user_id, "k2", "fp") is None
        assert await uow.answers.first(uuid4(), "k1", "fp") is None  # per user


# --- MailLog --------------------------------------------------------------------------


async def test_a_mail_s_result_is_kept_once_with_its_transaction(backend: Backend) -> None:
    maria = await backend.add_user("Maria")
    done = await backend.submit(maria)
    async with backend.deps.uow() as uow:
        await uow.mail_log.record("<rolled-back@example.com>", done.ticket_id, done)
    async with backend.deps.uow() as uow:
        assert await uow.mail_log.result_of("<rolled-back@example.com>") is None
        await uow.mail_log.record("<kept@example.com>", done.ticket_id, done)
        await uow.commit()
    async with backend.deps.uow() as uow:
        assert await uow.mail_log.result_of("<kept@example.com>") == done.model_dump(mode="json")
        with pytest.raises(Exception, match=r"(?i)unique"):  # a unique violation in both
            await uow.mail_log.record("<kept@example.com>", done.ticket_id, done)


# --- Deadlines ------------------------------------------------------------------------


async def test_passed_deadlines_are_due_until_settled(backend: Backend) -> None:
    maria = await backend.add_user("Maria")
    done = await backend.submit(maria)
    async with backend.deps.uow() as uow:
        assert done.ticket_id not in await uow.deadlines.due(backend.clock.now(), 10)
        later = backend.clock.now() + timedelta(days=30)
        assert await uow.deadlines.due(later, 10) == [done.ticket_id]
        assert await uow.deadlines.claim(done.ticket_id)
        await uow.deadlines.settle(done.ticket_id, later)
        await uow.commit()
    async with backend.deps.uow() as uow:
        assert await uow.deadlines.due(later, 10) == []


async def test_a_claimed_ticket_is_another_unit_s_only_when_the_first_has_ended(
    backend: Backend,
) -> None:
    ticket_id = uuid4()
    async with backend.deps.uow() as first:
        assert await first.deadlines.claim(ticket_id)
        async with backend.deps.uow() as second:
            assert not await second.deadlines.claim(ticket_id)
        await first.commit()
    async with backend.deps.uow() as third:
        assert await third.deadlines.claim(ticket_id)


# --- AgentDirectory and TicketViews ---------------------------------------------------


async def test_candidates_are_the_queue_s_active_agents_with_their_open_work(
    backend: Backend,
) -> None:
    admin = await backend.add_user("Admin", Role.ADMIN)
    alpha = await backend.add_user("Alpha", Role.AGENT)
    beta = await backend.add_user("Beta", Role.AGENT)
    await backend.activate(alpha, beta)
    await backend.set_members(admin, alpha, beta)
    away = agents_contract.SetAvailability(actor=beta, available=False)
    await agents.set_availability(away, backend.deps)
    maria = await backend.add_user("Maria")
    done = await backend.submit(maria)

    async with backend.deps.uow() as uow:
        candidates = await uow.agents.candidates("service-desk")
        # Members since the same moment: in the order of their ids.
        assert [c.user_id for c in candidates] == sorted([alpha.user_id, beta.user_id], key=str)
        assert {c.user_id: (c.available, c.open_tickets) for c in candidates} == {
            alpha.user_id: (True, 0),
            beta.user_id: (False, 0),
        }
        assert await uow.agents.waiting(["service-desk"], 10) == [done.ticket_id]
        assert await uow.agents.waiting(["incidents"], 10) == []
        assert await uow.agents.queues_of(alpha.user_id) == ["service-desk"]


async def test_a_page_of_the_list_holds_what_the_filter_asks_newest_first(
    backend: Backend,
) -> None:
    maria = await backend.add_user("Maria")
    nikos = await backend.add_user("Nikos")
    older = await backend.submit(maria, "older")
    backend.clock.advance(timedelta(minutes=5))
    newer = await backend.submit(maria, "newer")
    await backend.submit(nikos, "not hers")
    async with backend.deps.uow() as uow:
        page = await uow.views.page(TicketFilter(requester_id=maria.user_id), cursor=None, limit=1)
        assert [t.ticket_id for t in page.items] == [newer.ticket_id]
        assert page.next_cursor is not None
        rest = await uow.views.page(
            TicketFilter(requester_id=maria.user_id), cursor=page.next_cursor, limit=1
        )
        assert [t.ticket_id for t in rest.items] == [older.ticket_id]
        assert rest.next_cursor is None


# --- AgentDirectory.admins_of (issue 29: a ticket nobody is available for) ----------


async def test_a_queue_s_admins_are_its_admin_members_else_every_active_admin(
    backend: Backend,
) -> None:
    first = await backend.add_user("First admin", Role.ADMIN)
    second = await backend.add_user("Second admin", Role.ADMIN)
    gone = await backend.add_user("Gone admin", Role.ADMIN)
    agent = await backend.add_user("Agent", Role.AGENT)
    await backend.activate(first, second, agent)
    async with backend.deps.uow() as uow:
        await uow.users.set_active(gone.user_id, False, MONDAY_9)
        await uow.commit()
    await backend.set_members(first, agent, second)

    async with backend.deps.uow() as uow:
        members = await uow.agents.admins_of("service-desk")
        assert [c.user_id for c in members] == [second.user_id]
        assert members[0].name == "Second admin"
        everyone = await uow.agents.admins_of("incidents")  # no admin among its members
        assert [c.user_id for c in everyone] == sorted([first.user_id, second.user_id], key=str)


# --- UserDirectory.active_by_login (issue 29: a ticket opened on someone's behalf) ----


async def test_an_active_user_is_found_by_username_or_address_without_case(
    backend: Backend,
) -> None:
    nikos = await backend.add_user("Nikos")
    async with backend.deps.uow() as uow:
        by_name = await uow.users.active_by_login(" NIKOS ")
        assert by_name is not None
        assert by_name.contact.user_id == nikos.user_id
        address = by_name.contact.email
        assert address is not None
        by_address = await uow.users.active_by_login(address.upper())
        assert by_address is not None
        assert by_address.contact.user_id == nikos.user_id
        assert await uow.users.active_by_login("nobody") is None
        await uow.users.set_active(nikos.user_id, False, MONDAY_9)
        await uow.commit()
    async with backend.deps.uow() as uow:
        assert await uow.users.active_by_login("nikos") is None


# --- EventLog (issue 29: the operator's assignment replay) ---------------------------


async def test_the_event_log_holds_the_tickets_since_and_every_queue_s_events_in_order(
    backend: Backend,
) -> None:
    admin = await backend.add_user("Admin", Role.ADMIN)
    agent = await backend.add_user("Agent", Role.AGENT)
    maria = await backend.add_user("Maria")
    await backend.set_members(admin, agent)
    backend.clock.advance(timedelta(minutes=1))
    early = await backend.submit(maria, "early")
    backend.clock.advance(timedelta(minutes=1))
    start = backend.clock.now()
    late = await backend.submit(maria, "late")
    async with backend.deps.uow() as uow:
        everything = await uow.events.since(start - timedelta(minutes=5))
        recent = await uow.events.since(start)
    assert [type(e).__name__ for e in everything] == [
        "QueueMembersChanged",
        "TicketSubmitted",
        "TicketSubmitted",
    ]
    assert [getattr(e, "ticket_id", None) for e in everything[1:]] == [
        early.ticket_id,
        late.ticket_id,
    ]
    assert [type(e).__name__ for e in recent] == ["QueueMembersChanged", "TicketSubmitted"]
    assert getattr(recent[1], "ticket_id", None) == late.ticket_id


# --- SavedFilterStore (issue 29: agents' saved views of the queue) -------------------


def _saved(name: str, **spec: Any) -> agents_contract.SavedFilter:
    return agents_contract.SavedFilter(name=name, spec=agents_contract.FilterSpec(**spec))


async def test_saved_filters_are_each_agent_s_own_replaced_by_name_and_bounded(
    backend: Backend,
) -> None:
    kostas, eleni = uuid4(), uuid4()
    async with backend.deps.uow() as uow:
        assert await uow.filters.save(kostas, _saved("Επείγοντα", priority="urgent"), limit=2)
        assert await uow.filters.save(kostas, _saved("Δικά μου", view="mine"), limit=2)
        # A third is refused; the same name again replaces.
        assert not await uow.filters.save(kostas, _saved("Τρίτο"), limit=2)
        assert await uow.filters.save(kostas, _saved("Επείγοντα", view="all", q="VPN"), limit=2)
        await uow.commit()
    async with backend.deps.uow() as uow:
        found = await uow.filters.of(kostas)
        assert [(f.name, f.spec.q) for f in found] == [("Δικά μου", None), ("Επείγοντα", "VPN")]
        assert await uow.filters.of(eleni) == []
        await uow.filters.delete(kostas, "Δικά μου")  # not committed: kept
    async with backend.deps.uow() as uow:
        assert len(await uow.filters.of(kostas)) == 2
        await uow.filters.delete(kostas, "Δικά μου")
        await uow.commit()
    async with backend.deps.uow() as uow:
        assert [f.name for f in await uow.filters.of(kostas)] == ["Επείγοντα"]

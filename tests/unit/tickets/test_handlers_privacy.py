"""The tickets service's erasure scrub and retention of closed tickets as use cases
against the in-memory fakes (docs/privacy.md): what each asks of the ports and
of the aggregate. What the SQL then writes is checked on PostgreSQL in
tests/integration/tickets/test_erasure.py and test_retention.py."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.contracts.tickets import ChangeStatus, TicketStatus
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.erasure import NotYet
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.handlers import commands
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.erasure import ErasureDeps, on_erased
from helpdesk.tickets.handlers.retention import RetentionDeps, expire_closed_tickets
from tests.unit.tickets.fakes import FakeDatabase
from tests.unit.tickets.test_attachments import a_file, add
from tests.unit.tickets.test_handlers_commands import submit

KEY_CACHE_SECONDS = 60.0


@pytest.fixture
def erasure(deps: Deps, clock: ManualClock) -> ErasureDeps:
    return ErasureDeps(uow=deps.uow, clock=clock, key_cache_seconds=KEY_CACHE_SECONDS)


@pytest.fixture
def retention(deps: Deps, clock: ManualClock) -> RetentionDeps:
    return RetentionDeps(uow=deps.uow, clock=clock, closed_days=730)


def erased(
    db: FakeDatabase, person: Actor, clock: ManualClock, seconds_ago: float
) -> PersonalDataErased:
    """Identity's event for `person`, whose one key seals their data."""
    key_id = uuid4()
    db.key_owners[key_id] = person.user_id
    return PersonalDataErased(
        user_id=person.user_id,
        erased_at=clock.now() - timedelta(seconds=seconds_ago),
        reason="admin",
        key_ids=[key_id],
    )


async def set_status(deps: Deps, agent: Actor, ticket_id: UUID, *statuses: TicketStatus) -> None:
    for status in statuses:
        await commands.change_status(
            ChangeStatus(actor=agent, ticket_id=ticket_id, status=status), deps
        )


async def test_a_scrub_waits_until_no_replica_can_still_hold_the_key(
    erasure: ErasureDeps, deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    await submit(deps, maria)
    commits = db.commits
    with pytest.raises(NotYet):
        await on_erased(erased(db, maria, clock, seconds_ago=1), erasure)
    assert (db.commits, db.projected_again) == (commits, [])
    assert db.users[maria.user_id].contact.name == "Μαρία"


async def test_an_erased_requester_loses_files_texts_name_and_answers(
    erasure: ErasureDeps, deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    maria, nikos = db.add_user("Μαρία"), db.add_user("Νίκος")
    mine, theirs = await submit(deps, maria), await submit(deps, nikos)
    await add(deps, maria, mine.ticket_id, a_file("οθόνη.png"))
    await add(deps, nikos, theirs.ticket_id, a_file("printer.jpg"))
    db.answers[(maria.user_id, "retry-1")] = ("fingerprint", {"ticket_id": str(mine.ticket_id)})
    db.answers[(nikos.user_id, "retry-2")] = ("fingerprint", {"ticket_id": str(theirs.ticket_id)})

    await on_erased(erased(db, maria, clock, seconds_ago=3600), erasure)

    # Her file went through the aggregate (its bytes follow after the commit).
    assert db.events_of(mine.ticket_id).count(e.AttachmentRemoved) == 1
    assert e.AttachmentRemoved not in db.events_of(theirs.ticket_id)
    assert db.projected_again == [mine.ticket_id]
    assert db.users[maria.user_id].contact.name is None
    assert db.users[nikos.user_id].contact.name == "Νίκος"
    assert list(db.answers) == [(nikos.user_id, "retry-2")]


async def test_an_erased_agent_s_tickets_are_projected_again_and_keep_their_files(
    erasure: ErasureDeps, deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    """Their name is on tickets they did not request: projected again, nothing removed."""
    maria = db.add_user("Μαρία")
    agent = db.add_user("Κώστας", Role.AGENT)
    ticket = await submit(deps, maria)
    await add(deps, agent, ticket.ticket_id, a_file("fix.log"))
    untouched = await submit(deps, maria)

    await on_erased(erased(db, agent, clock, seconds_ago=3600), erasure)

    assert db.projected_again == [ticket.ticket_id]
    assert untouched.ticket_id not in db.projected_again
    assert e.AttachmentRemoved not in db.events_of(ticket.ticket_id)
    assert db.users[agent.user_id].contact.name is None


async def test_closed_tickets_past_retention_expire_once_and_each_run_is_recorded(
    retention: RetentionDeps, deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Κώστας", Role.AGENT)
    old, still_open = await submit(deps, maria), await submit(deps, maria)
    await add(deps, maria, old.ticket_id, a_file("οθόνη.png"))
    await set_status(deps, agent, old.ticket_id, TicketStatus.RESOLVED, TicketStatus.CLOSED)

    assert await expire_closed_tickets(retention) == {"closed_tickets_expired": 0}
    clock.advance(timedelta(days=731))
    assert await expire_closed_tickets(retention) == {"closed_tickets_expired": 1}
    assert await expire_closed_tickets(retention) == {"closed_tickets_expired": 0}

    assert db.redacted == db.projected_again == [old.ticket_id]
    assert list(db.expired) == [old.ticket_id]
    assert db.events_of(old.ticket_id).count(e.AttachmentRemoved) == 1
    assert still_open.ticket_id not in db.redacted
    assert [run.counts["closed_tickets_expired"] for run in db.retention_runs] == [0, 1, 0]
    assert db.retention_runs[1].at == clock.now()

"""The SLA monitor's use case against in-memory fakes: what it emits, once."""

from __future__ import annotations

from datetime import timedelta

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import SubmitTicket
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.handlers import commands
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.sla import SlaMonitor
from tests.unit.tickets.conftest import MONDAY_9
from tests.unit.tickets.fakes import FakeDatabase


async def submit_critical(deps: Deps, db: FakeDatabase) -> object:
    maria = db.add_user("Μαρία")
    submitted = await commands.submit(
        SubmitTicket(actor=maria, subject="Όλα κάτω", description="d", priority=Priority.CRITICAL),
        deps,
    )
    return submitted.ticket_id


async def test_each_alarm_is_emitted_once(deps: Deps, db: FakeDatabase, clock: ManualClock) -> None:
    ticket_id = await submit_critical(deps, db)
    monitor = SlaMonitor(deps)
    clock.set(MONDAY_9 + timedelta(minutes=12))  # 80 % of 15 minutes
    assert await monitor.run_once() == 1
    clock.set(MONDAY_9 + timedelta(minutes=15))
    assert await monitor.run_once() == 2  # breach and escalation
    assert await SlaMonitor(deps).run_once() == 0  # a restarted monitor finds nothing new
    assert db.events_of(ticket_id) == [  # type: ignore[arg-type]
        e.Submitted,
        e.SlaWarningIssued,
        e.SlaBreached,
        e.Escalated,
    ]


async def test_a_ticket_another_replica_checks_is_skipped(
    deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    ticket_id = await submit_critical(deps, db)
    db.claimed_elsewhere.add(ticket_id)  # type: ignore[arg-type]
    clock.set(MONDAY_9 + timedelta(hours=1))
    assert await SlaMonitor(deps).run_once() == 0
    assert db.events_of(ticket_id) == [e.Submitted]  # type: ignore[arg-type]


async def test_deadlines_with_nothing_left_to_emit_are_settled(
    deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    ticket_id = await submit_critical(deps, db)
    clock.set(MONDAY_9 + timedelta(hours=5))
    assert await SlaMonitor(deps).run_once() == 3
    # The projection still says "due" (the fake keeps every deadline); the aggregate
    # finds nothing left, so the monitor settles them instead of emitting again.
    assert await SlaMonitor(deps).run_once() == 0
    assert db.settled == [ticket_id]

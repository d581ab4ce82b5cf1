"""The SLA monitor on a hand-moved clock: business hours, weekends, Greek
holidays, pending pauses, and each warning or breach emitted exactly once —
also after a restart and with two monitors racing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.tickets.handlers.sla import SlaMonitor
from tests.integration.tickets.conftest import ATHENS, Tickets

pytestmark = pytest.mark.integration


def athens(*args: int) -> datetime:
    return datetime(*args, tzinfo=ATHENS)  # type: ignore[misc]


async def submit_at(t: Tickets, when: datetime, actor: Actor, priority: str) -> str:
    t.clock.set(when)
    result = await t.ok(
        "submit", actor, subject="VPN", description="Δεν συνδέεται.", priority=priority
    )
    return str(result["ticket_id"])


async def emitted(t: Tickets, ticket_id: str) -> list[tuple[str, str | None]]:
    rows = await t.pool.fetch(
        "SELECT event_type, data->>'target' AS target FROM events"
        " WHERE stream_id = $1 AND event_type IN"
        " ('TicketSlaWarning', 'TicketSlaBreached', 'TicketEscalated') ORDER BY version",
        f"ticket-{ticket_id}",
    )
    return [(r["event_type"], r["target"]) for r in rows]


async def at(t: Tickets, when: datetime) -> int:
    t.clock.set(when)
    return await t.app.monitor.run_once()


async def test_business_hours_across_a_weekend(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    # Friday 16:00, high: 2 business hours -> 1 h on Friday, 1 h on Monday (due 10:00);
    # the warning at 80 % (96 minutes) falls on Monday 09:36.
    tid = await submit_at(tickets, athens(2026, 11, 27, 16), maria, "high")
    assert await at(tickets, athens(2026, 11, 27, 16, 59)) == 0
    assert await at(tickets, athens(2026, 11, 28, 12)) == 0  # Saturday
    assert await at(tickets, athens(2026, 11, 30, 9, 35)) == 0
    assert await at(tickets, athens(2026, 11, 30, 9, 36)) == 1
    assert await emitted(tickets, tid) == [("TicketSlaWarning", "first_response")]
    assert await at(tickets, athens(2026, 11, 30, 9, 59)) == 0
    assert await at(tickets, athens(2026, 11, 30, 10, 0)) == 1
    assert await emitted(tickets, tid) == [
        ("TicketSlaWarning", "first_response"),
        ("TicketSlaBreached", "first_response"),
    ]


async def test_a_greek_holiday_is_not_counted(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    # Thursday 9 April 2026 16:00, normal: 8 business hours. Good Friday (10th), the
    # weekend and Easter Monday (13th) are off: due Tuesday 14 April 16:00.
    tid = await submit_at(tickets, athens(2026, 4, 9, 16), maria, "normal")
    assert await at(tickets, athens(2026, 4, 13, 16)) == 0  # Easter Monday
    assert await emitted(tickets, tid) == []
    assert await at(tickets, athens(2026, 4, 14, 15, 59)) == 1  # the warning only
    assert await at(tickets, athens(2026, 4, 14, 16)) == 1
    assert ("TicketSlaBreached", "first_response") in await emitted(tickets, tid)


async def test_pending_pauses_the_resolution_clock(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    # Monday 09:00, high: resolution 1 business day (8 h) -> 17:00 if it kept running.
    tid = await submit_at(tickets, athens(2026, 11, 23, 9), maria, "high")
    tickets.clock.set(athens(2026, 11, 23, 9, 30))
    await tickets.ok("add_message", agent, ticket_id=tid, body="Στείλτε μας ένα screenshot.")
    tickets.clock.set(athens(2026, 11, 23, 10))
    paused = await tickets.ok("change_status", agent, ticket_id=tid, status="pending")
    assert paused["resolution_due"] is None
    # A week waiting on the requester: no warning, no breach.
    assert await at(tickets, athens(2026, 11, 30, 16)) == 0
    assert await emitted(tickets, tid) == []
    # The requester answers on Monday 30th at 09:00: 1 h was used, 7 h remain.
    tickets.clock.set(athens(2026, 11, 30, 9))
    await tickets.ok("add_message", maria, ticket_id=tid, body="Ορίστε.")
    detail = await tickets.ok("get", agent, ticket_id=tid)
    assert datetime.fromisoformat(detail["resolution_due"]) == athens(2026, 11, 30, 16)
    assert await at(tickets, athens(2026, 11, 30, 16)) == 1
    assert await emitted(tickets, tid) == [("TicketSlaBreached", "resolution")]


async def test_a_breach_is_emitted_once_across_a_monitor_restart(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    start = athens(2026, 11, 28, 23)  # Saturday night: urgent runs 24/7
    tid = await submit_at(tickets, start, maria, "urgent")
    assert await at(tickets, start + timedelta(minutes=31)) == 1  # first response breached
    # The monitor process is restarted: a new instance, same database.
    restarted = SlaMonitor(tickets.app.deps)
    assert await restarted.run_once() == 0
    tickets.clock.set(start + timedelta(minutes=40))
    assert await restarted.run_once() == 0
    assert await emitted(tickets, tid) == [("TicketSlaBreached", "first_response")]
    # The outbox holds the breach once, so the notifier mails it once.
    assert (
        await tickets.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE subject = 'tickets.events.ticket.sla_breached'"
        )
        == 1
    )


async def test_two_monitor_replicas_emit_each_event_once(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    start = athens(2026, 11, 28, 23)
    ids = [await submit_at(tickets, start, maria, "critical") for _ in range(10)]
    tickets.clock.set(start + timedelta(hours=5))  # everything is due
    replicas = [SlaMonitor(tickets.app.deps, batch_size=4) for _ in range(3)]
    for _ in range(4):
        await asyncio.gather(*(m.run_once() for m in replicas))
    for tid in ids:
        assert sorted(await emitted(tickets, tid)) == [
            ("TicketEscalated", None),
            ("TicketSlaBreached", "first_response"),
            ("TicketSlaBreached", "resolution"),
        ]


async def test_an_acknowledged_critical_is_not_escalated(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    start = athens(2026, 11, 28, 23)
    tid = await submit_at(tickets, start, maria, "critical")
    tickets.clock.set(start + timedelta(minutes=5))
    await tickets.ok("assign", agent, ticket_id=tid)
    assert await at(tickets, start + timedelta(minutes=12)) == 1  # first-response warning
    assert await at(tickets, start + timedelta(minutes=16)) == 1  # first-response breach
    assert ("TicketEscalated", None) not in await emitted(tickets, tid)


async def test_a_resolved_ticket_closes_by_itself_after_seven_business_days(
    tickets: Tickets,
) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Κώστας", Role.AGENT)
    tid = await submit_at(tickets, athens(2026, 12, 4, 15), maria, "normal")
    tickets.clock.set(athens(2026, 12, 4, 16))  # Friday: 1 h that day, then 6 days and 7 h
    await tickets.ok("change_status", agent, ticket_id=tid, status="resolved")
    assert await at(tickets, athens(2026, 12, 15, 15, 59)) == 0
    assert await at(tickets, athens(2026, 12, 15, 16)) == 1
    assert await at(tickets, athens(2026, 12, 16, 16)) == 0  # closed once
    row = await tickets.pool.fetchrow(
        "SELECT data->>'to_status' AS status, data->>'by' AS by FROM events"
        " WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
        f"ticket-{tid}",
    )
    assert (row["status"], row["by"]) == ("closed", "00000000-0000-0000-0000-000000000000")
    assert (
        await tickets.pool.fetchval("SELECT count(*) FROM sla_deadlines WHERE ticket_id = $1", tid)
        == 0
    )

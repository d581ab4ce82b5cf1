"""The tickets read model and SLA deadlines are rebuilt from the event store
to exactly what the live projection wrote."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.servicekit.projections import rebuild
from helpdesk.tickets.adapters.projections import TicketsProjection
from tests.integration.tickets.conftest import MONDAY_9, Tickets

pytestmark = pytest.mark.integration


async def snapshot(t: Tickets) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    tickets = await t.pool.fetch("SELECT * FROM tickets ORDER BY number")
    deadlines = await t.pool.fetch("SELECT * FROM sla_deadlines ORDER BY ticket_id, kind")
    return [dict(r) for r in tickets], [dict(r) for r in deadlines]


async def test_rebuild_equals_the_live_projection(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    ids = []
    for priority in ("low", "high", "critical"):
        result = await tickets.ok(
            "submit", maria, subject=priority, description="d", priority=priority
        )
        ids.append(result["ticket_id"])
    await tickets.ok("assign", agent, ticket_id=ids[1])
    await tickets.ok("change_status", agent, ticket_id=ids[1], status="pending")
    await tickets.ok("change_priority", agent, ticket_id=ids[0], priority="urgent")
    tickets.clock.set(MONDAY_9 + timedelta(hours=1))
    assert await tickets.app.monitor.run_once() > 0  # warnings fire
    await tickets.ok("add_message", agent, ticket_id=ids[2], body="Κοιτάζω")
    await tickets.ok("add_message", maria, ticket_id=ids[2], body="Ευχαριστώ")
    tickets.clock.set(MONDAY_9 + timedelta(days=4))
    assert await tickets.app.monitor.run_once() > 0  # breaches and escalations
    await tickets.ok("submit", maria, subject="later", description="d", priority="normal")
    live = await snapshot(tickets)
    assert any(d["fired"] for d in live[1])
    assert not all(d["fired"] for d in live[1])
    assert await rebuild(tickets.pool, TicketsProjection()) == await tickets.count("events")
    assert await snapshot(tickets) == live
    # Replay batches that end inside a ticket's history.
    assert await rebuild(tickets.pool, TicketsProjection(), batch_size=3) > 0
    assert await snapshot(tickets) == live

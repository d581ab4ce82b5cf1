"""The backlog and SLA-overdue gauges count the unresolved tickets, by an
index-only scan that does not grow with the resolved history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from helpdesk.contracts.actors import Role
from helpdesk.tickets.adapters.insight_ops import refresh_gauges
from tests.integration.tickets.conftest import MONDAY_9, Tickets

pytestmark = pytest.mark.integration


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_gauges_count_unresolved_tickets_and_their_overdue_targets(
    tickets: Tickets,
) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    ids = [
        (await tickets.ok("submit", maria, subject=p, description="d", priority=p))["ticket_id"]
        for p in ("high", "high", "high", "low")
    ]
    await tickets.ok("assign", agent, ticket_id=ids[1])
    await tickets.ok("change_status", agent, ticket_id=ids[1], status="pending")
    await tickets.ok("change_status", agent, ticket_id=ids[2], status="resolved")

    tickets.clock.set(MONDAY_9 + timedelta(days=3))
    await refresh_gauges(tickets.pool, tickets.clock)

    high = {"priority": "high", "queue": "service-desk"}
    assert gauge("helpdesk_tickets_backlog", **high, status="submitted") == 1
    assert gauge("helpdesk_tickets_backlog", **high, status="pending") == 1
    assert gauge("helpdesk_tickets_backlog", **high, status="resolved") is None
    low = {"priority": "low", "queue": "service-desk"}
    assert gauge("helpdesk_tickets_backlog", **low, status="submitted") == 1
    # Three days on, the unanswered high ticket is past both targets; the pending
    # one's clock is paused (no resolution due) but its first response is late.
    assert gauge("helpdesk_tickets_sla_overdue", **high, target="first_response") == 2
    assert gauge("helpdesk_tickets_sla_overdue", **high, target="resolution") == 1
    assert gauge("helpdesk_tickets_sla_overdue", **low, target="first_response") == 1
    assert gauge("helpdesk_tickets_sla_overdue", **low, target="resolution") == 0

    plan = await tickets.pool.fetch(
        "EXPLAIN SELECT priority, queue, status, count(*) FROM tickets"
        " WHERE status IN ('submitted', 'open', 'pending') GROUP BY 1, 2, 3"
    )
    assert "tickets_backlog" in "\n".join(r[0] for r in plan)

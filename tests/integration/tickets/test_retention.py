"""Retention of closed tickets (issue 30, item 5; docs/privacy.md) on PostgreSQL:
a ticket closed longer than HELPDESK_RETENTION_CLOSED_DAYS loses its texts in
its stored events and read models, keeps its number, priority and queue, and a
rebuild gives the same rows; an open ticket keeps everything; a second run finds
nothing; each run publishes its counts."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.servicekit.projections import Projection, rebuild
from helpdesk.tickets.adapters.agents import AgentsProjection
from helpdesk.tickets.adapters.attachments import AttachmentsProjection
from helpdesk.tickets.adapters.contract_events import TICKETS_STORE
from helpdesk.tickets.adapters.history import HistoryProjection
from helpdesk.tickets.adapters.personal_records import PER_TICKET_TABLES
from helpdesk.tickets.adapters.projections import TicketsProjection
from helpdesk.tickets.adapters.repository import stream_id
from helpdesk.tickets.adapters.search import SearchProjection
from helpdesk.tickets.handlers.retention import expire_closed_tickets
from tests.integration.tickets.conftest import Tickets

pytestmark = pytest.mark.integration


async def rows(t: Tickets) -> dict[str, list[dict[str, object]]]:
    return {
        table: [dict(r) for r in await t.pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in PER_TICKET_TABLES
    }


async def test_closed_tickets_past_retention_lose_their_texts_only(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία Παλαιά")
    agent = await tickets.user("Κώστας", Role.AGENT)
    old = await tickets.ok(
        "submit", maria, subject="Παλιό VPN", description="Παλιά περιγραφή", priority="high"
    )
    await tickets.ok("add_message", agent, ticket_id=old["ticket_id"], body="Παλιά απάντηση")
    for status in ("resolved", "closed"):
        await tickets.ok("change_status", agent, ticket_id=old["ticket_id"], status=status)
    open_one = await tickets.ok(
        "submit", maria, subject="Ανοιχτό", description="Ακόμη ανοιχτό", priority="low"
    )
    # The service's own wiring: its settings keep closed tickets 730 days.
    assert tickets.app.retention.closed_days == 730
    assert await expire_closed_tickets(tickets.app.retention) == {"closed_tickets_expired": 0}
    tickets.clock.advance(timedelta(days=731))
    assert await expire_closed_tickets(tickets.app.retention) == {"closed_tickets_expired": 1}
    assert await expire_closed_tickets(tickets.app.retention) == {"closed_tickets_expired": 0}

    expired = await tickets.ok("get", agent, ticket_id=old["ticket_id"])
    assert (expired["subject"], expired["description"]) == ("", "")
    assert (expired["number"], expired["priority"], expired["status"]) == (
        old["number"],
        "high",
        "closed",
    )
    assert all(not e.get("body") for e in expired["timeline"])
    kept = await tickets.ok("get", maria, ticket_id=open_one["ticket_id"])
    assert (kept["subject"], kept["description"]) == ("Ανοιχτό", "Ακόμη ανοιχτό")
    # The stored events themselves hold no text of the expired ticket any more.
    stored = await tickets.pool.fetch(
        "SELECT data FROM events WHERE stream_id = $1", stream_id(UUID(old["ticket_id"]))
    )
    assert {r["data"].get("subject_line") for r in stored} <= {"", None}
    runs = await tickets.pool.fetch(
        "SELECT payload FROM outbox WHERE subject = 'tickets.events.retention.applied'"
    )
    assert len(runs) == 3
    stored_runs = await tickets.pool.fetch(
        "SELECT data FROM events WHERE event_type = 'TicketsRetentionApplied' ORDER BY position"
    )
    assert [r["data"]["counts"]["closed_tickets_expired"] for r in stored_runs] == [0, 1, 0]

    before = await rows(tickets)
    projections: list[Projection] = [
        TicketsProjection(),
        SearchProjection(),
        HistoryProjection(tickets.app.policy),
        AttachmentsProjection(),
        AgentsProjection(),
    ]
    for projection in projections:  # every one: the runs are stored events too
        await rebuild(tickets.pool, projection, store=TICKETS_STORE)
    assert await rows(tickets) == before

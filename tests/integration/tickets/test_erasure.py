"""The tickets service forgets an erased person (issue 30, docs/privacy.md), on a
real PostgreSQL and NATS: their tickets keep numbers, priorities, queues and SLA
facts while texts and names are gone; an agent's name is gone from the tickets
they handled; nothing else changes; and a rebuild of every projection from the
store gives the very same rows."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.servicekit import keystore
from helpdesk.servicekit.consumer import handle_once
from helpdesk.servicekit.erasure import NotYet
from helpdesk.servicekit.projections import rebuild
from helpdesk.tickets.adapters.attachments import AttachmentsProjection
from helpdesk.tickets.adapters.history import HistoryProjection
from helpdesk.tickets.adapters.personal_records import PER_TICKET_TABLES
from helpdesk.tickets.adapters.projections import TicketsProjection
from helpdesk.tickets.adapters.search import SearchProjection
from helpdesk.tickets.handlers.erasure import CONSUMER_NAME
from tests.integration.tickets.conftest import MONDAY_9, Tickets

pytestmark = pytest.mark.integration

READ_MODELS = (*PER_TICKET_TABLES, "attachments", "users")


async def rows(t: Tickets) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(r) for r in await t.pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
        for table in READ_MODELS
    }


async def tables_holding(t: Tickets, marker: str) -> list[str]:
    """Every table of the service's schema with a row containing `marker` as text."""
    names = await t.pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", t.schema
    )
    return [
        n["table_name"]
        for n in names
        if await t.pool.fetchval(
            f'SELECT count(*) FROM "{n["table_name"]}" x WHERE x::text ILIKE $1', f"%{marker}%"
        )
    ]


async def erase(t: Tickets, user_id: uuid.UUID, *, seconds_ago: float) -> None:
    """What identity does (the key destroyed), then its event through the consumer."""
    store = keystore.owned()
    async with t.pool.acquire() as conn:
        key_ids = await store.key_ids_of(conn, user_id)
        await store.destroy(conn, user_id)
    event = PersonalDataErased(
        user_id=user_id,
        erased_at=t.clock.now() - timedelta(seconds=seconds_ago),
        reason="admin",
        key_ids=key_ids,
    )
    (consumer,) = [c for c in t.app.consumers if c.name == CONSUMER_NAME]
    envelope = EventEnvelope.wrap(event, correlation_id="test-erasure")
    await handle_once(t.pool, consumer, envelope)


async def test_an_erased_requester_and_agent_leave_numbers_and_facts_only(
    tickets: Tickets,
) -> None:
    marker = f"mk{uuid.uuid4().hex[:8]}"
    maria = await tickets.user(f"Maria {marker}")
    agent = await tickets.user(f"Agent {marker}agent", Role.AGENT)
    nikos = await tickets.user("Nikos Keep")
    mine = await tickets.ok(
        "submit",
        maria,
        subject=f"VPN {marker}",
        description=f"Δεν συνδέομαι {marker}",
        priority="high",
    )
    await tickets.ok("assign", agent, ticket_id=mine["ticket_id"])
    await tickets.ok("add_message", agent, ticket_id=mine["ticket_id"], body=f"Κοιτάζω {marker}")
    await tickets.ok("add_message", maria, ticket_id=mine["ticket_id"], body=f"Ευχαριστώ {marker}")
    theirs = await tickets.ok(
        "submit", nikos, subject="Printer keep", description="Jammed keep", priority="low"
    )
    await tickets.ok("assign", agent, ticket_id=theirs["ticket_id"])
    tickets.clock.set(MONDAY_9 + timedelta(days=4))
    assert await tickets.app.monitor.run_once() > 0  # SLA facts of both tickets
    assert "tickets" in await tables_holding(tickets, marker)

    # Within the key caches' lifetime the scrub waits (NotYet: redelivered later).
    with pytest.raises(NotYet):
        await erase(tickets, maria.user_id, seconds_ago=0)
    await erase(tickets, maria.user_id, seconds_ago=3600)
    await erase(tickets, agent.user_id, seconds_ago=3600)

    # Nothing of Maria's or of the agent's names in plaintext in any table.
    assert await tables_holding(tickets, marker) == []
    ticket = await tickets.pool.fetchrow(
        "SELECT * FROM tickets WHERE ticket_id = $1", uuid.UUID(mine["ticket_id"])
    )
    assert ticket is not None
    # Texts read as empty, names as absent: the portal shows "Erased user".
    assert (ticket["subject"], ticket["requester_name"], ticket["assignee_name"]) == (
        "",
        None,
        None,
    )
    assert (ticket["number"], ticket["priority"], ticket["queue"]) == (
        mine["number"],
        "high",
        mine["queue"],
    )
    assert ticket["assignee_id"] == agent.user_id  # who handled it stays, by id
    # Nikos's ticket keeps its texts; only the agent's name is gone from it.
    other = await tickets.pool.fetchrow(
        "SELECT * FROM tickets WHERE ticket_id = $1", uuid.UUID(theirs["ticket_id"])
    )
    assert other is not None
    assert (other["subject"], other["requester_name"], other["assignee_name"]) == (
        "Printer keep",
        "Nikos Keep",
        None,
    )
    detail = await tickets.ok("get", nikos, ticket_id=theirs["ticket_id"])
    assert detail["description"] == "Jammed keep"
    erased = await tickets.ok("get", agent, ticket_id=mine["ticket_id"])
    assert (erased["subject"], erased["description"]) == ("", "")

    # A rebuild of every projection from the store writes the same rows.
    scrubbed = await rows(tickets)
    projections = (
        TicketsProjection(),
        SearchProjection(),
        HistoryProjection(tickets.app.policy),
        AttachmentsProjection(),
    )
    for projection in projections:
        await rebuild(tickets.pool, projection)
    assert await rows(tickets) == scrubbed


async def test_answers_stored_before_the_jsonb_fix_are_read_and_scrubbed(tickets: Tickets) -> None:
    """Until 2026-12 an Idempotency-Key's answer was stored as a JSON string holding
    the object: such a row (kept 24 hours) still replays, and an erasure finds it."""
    maria = await tickets.user("Maria Old")
    agent_id, ticket_id = uuid.uuid4(), uuid.uuid4()
    await tickets.pool.execute(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, answer)"
        " VALUES ($1, 'old', 'fp', to_jsonb($2::text))",
        agent_id,
        json.dumps({"ticket_id": str(ticket_id)}),
    )
    async with tickets.app.deps.uow() as uow:
        assert await uow.answers.first(agent_id, "old", "fp") == {"ticket_id": str(ticket_id)}
        await uow.records.forget_person(maria.user_id, [ticket_id])
        await uow.commit()
    assert await tickets.pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0

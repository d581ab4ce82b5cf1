"""`helpdesk privacy-migrate tickets` (issue 30, docs/privacy.md): events stored
before personal data was sealed — in the clear, without `requester_id` — are
sealed in place under their requester's key, and read back the same; a second
run changes nothing."""

from __future__ import annotations

import pytest

from helpdesk.servicekit.privacy import sealed_key_id
from helpdesk.tickets.adapters.contract_events import TICKETS_STORE
from helpdesk.tickets.adapters.repository import stream_id
from tests.integration.tickets.conftest import Tickets

pytestmark = pytest.mark.integration


async def test_old_plain_events_are_sealed_in_place_and_read_the_same(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία Παλιά")
    submitted = await tickets.ok(
        "submit", maria, subject="Παλιό θέμα", description="Παλιά περιγραφή", priority="low"
    )
    await tickets.ok("add_message", maria, ticket_id=submitted["ticket_id"], body="Παλιά απάντηση")
    stream = stream_id(submitted["ticket_id"])
    # As an older release stored them: every value in the clear, no requester_id.
    async with tickets.pool.acquire() as conn:
        for event in await TICKETS_STORE.load(conn, stream):
            plain = {k: v for k, v in event.data.items() if k != "requester_id"}
            await conn.execute(
                "UPDATE events SET data = $2 WHERE event_id = $1", event.event_id, plain
            )
    before = await tickets.ok("get", maria, ticket_id=submitted["ticket_id"])
    raw = await tickets.pool.fetchval(
        "SELECT data FROM events WHERE stream_id = $1 AND version = 1", stream
    )
    assert raw["subject_line"] == "Παλιό θέμα"

    events, values = await TICKETS_STORE.reseal(tickets.pool)
    assert events >= 2
    assert values >= 5  # subject, description, name, e-mail, the reply's body ...
    rows = await tickets.pool.fetch("SELECT data FROM events WHERE stream_id = $1", stream)
    for row in rows:
        assert row["data"]["requester_id"] == str(maria.user_id)
        assert "Παλιό" not in str(row["data"])
        assert "Παλιά" not in str(row["data"])
    assert sealed_key_id(rows[0]["data"]["subject_line"]) is not None
    assert await tickets.ok("get", maria, ticket_id=submitted["ticket_id"]) == before
    assert await TICKETS_STORE.reseal(tickets.pool) == (0, 0)

"""The tickets service over real NATS request-reply and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import AssignTicket, Contact, SubmitTicket
from helpdesk.servicekit.personal_data import opened_envelope
from tests.integration.tickets.conftest import ATHENS, MONDAY_9, Tickets
from tests.tokens import headers_for

pytestmark = pytest.mark.integration


def due(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def submit_body(actor: Actor, subject: str, description: str, priority: str) -> dict[str, object]:
    """A submit command as it travels on `tickets.cmd.submit` (the actor in the body)."""
    return {
        "actor": actor.model_dump(mode="json"),
        "subject": subject,
        "description": description,
        "priority": priority,
    }


async def submit(t: Tickets, actor, priority: str = "normal", **extra):  # type: ignore[no-untyped-def]
    return await t.ok(
        "submit",
        actor,
        subject="Δεν ανοίγει το Outlook",
        description="Από σήμερα το πρωί.",
        priority=priority,
        **extra,
    )


async def test_submit_routes_numbers_and_publishes_by_priority(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία Παπαδοπούλου")
    normal = await submit(tickets, maria, "normal", category="software")
    assert normal["number"] == "HD-2026-000001"
    assert normal["status"] == "submitted"
    assert normal["queue"] == "service-desk"
    assert due(normal["first_response_due"]) == datetime(2026, 11, 23, 17, tzinfo=ATHENS)
    assert due(normal["resolution_due"]) == datetime(2026, 11, 25, 17, tzinfo=ATHENS)

    critical = await submit(tickets, maria, "critical")
    assert critical["number"] == "HD-2026-000002"
    assert critical["queue"] == "incidents"
    assert due(critical["first_response_due"]) == MONDAY_9 + timedelta(minutes=15)

    async with tickets.pool.acquire() as conn:
        assert await tickets.relay.publish_pending(conn) == 2
    js = tickets.nc.jetstream()
    msg = await js.get_last_msg("TICKETS", "tickets.events.ticket.submitted.critical")
    envelope = EventEnvelope.model_validate_json(msg.data)
    assert envelope.data["ticket_id"] == critical["ticket_id"]
    assert envelope.data["page"] is True
    # Personal fields travel sealed (issue 30) and open with the requester's key.
    assert "Μαρία" not in msg.data.decode()
    assert envelope.data["requester"]["name"].startswith("pd1:")
    async with tickets.pool.acquire() as conn:
        opened = await opened_envelope(conn, envelope)
    assert opened.data["requester"]["name"] == "Μαρία Παπαδοπούλου"
    assert opened.data["requester_id"] == str(maria.user_id)
    normal_msg = await js.get_last_msg("TICKETS", "tickets.events.ticket.submitted.normal")
    assert json.loads(normal_msg.data)["data"]["page"] is False


async def test_ticket_numbers_are_sequential_and_unique_under_concurrency(
    tickets: Tickets,
) -> None:
    actors = [await tickets.user(f"User {i}") for i in range(8)]
    results = await asyncio.gather(
        *(
            tickets.direct(SubmitTicket.model_validate(submit_body(a, f"s{i}-{n}", "d", "low")))
            for i, a in enumerate(actors)
            for n in range(5)
        )
    )
    numbers = sorted(r.result.number for r in results)  # type: ignore[union-attr]
    assert numbers == [f"HD-2026-{n:06d}" for n in range(1, 41)]


@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("subject", {"subject": "x" * 201}),
        ("subject", {"subject": "bell\x07"}),
        ("subject", {"subject": "two\nlines"}),
        ("subject", {"subject": "   "}),
        ("description", {"description": "y" * 20_001}),
        ("description", {"description": "nul\x00byte"}),
        ("priority", {"priority": "whenever"}),
        ("category", {"category": "plumbing"}),
        ("actor", {"actor": None}),
    ],
)
async def test_bad_input_is_refused_with_field_errors_and_nothing_stored(
    tickets: Tickets, field: str, payload: dict[str, object]
) -> None:
    maria = await tickets.user("Μαρία")
    body = submit_body(maria, "ok", "ok", "normal") | payload  # the bad field replaced
    reply = await tickets.call("cmd", "submit", body)
    assert not reply.ok
    assert reply.error is not None
    assert reply.error.code == "validation_error"
    assert reply.error.field_errors[0].field.startswith(field)
    for table in ("events", "outbox", "tickets", "sla_deadlines"):
        assert await tickets.count(table) == 0, table


async def test_customers_see_only_their_own_tickets(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    nikos = await tickets.user("Νίκος")
    agent = await tickets.user("Agent Smith", Role.AGENT)
    mine = await submit(tickets, maria)
    await submit(tickets, nikos)

    reply = await tickets.query("get", nikos, ticket_id=mine["ticket_id"])
    assert reply.error is not None
    assert reply.error.code == "not_found"
    reply = await tickets.cmd("add_message", nikos, ticket_id=mine["ticket_id"], body="hi")
    assert reply.error is not None
    assert reply.error.code == "not_found"
    reply = await tickets.cmd("change_status", nikos, ticket_id=mine["ticket_id"], status="closed")
    assert reply.error is not None
    assert reply.error.code == "not_found"

    listed = await tickets.ok("list", maria)
    assert [i["ticket_id"] for i in listed["items"]] == [mine["ticket_id"]]
    # A customer's filters never widen what they see.
    listed = await tickets.ok("list", maria, assignee_id=str(agent.user_id))
    assert [i["ticket_id"] for i in listed["items"]] == [mine["ticket_id"]]
    assert len((await tickets.ok("list", agent))["items"]) == 2


async def test_customers_cannot_use_agent_commands(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    mine = await submit(tickets, maria)
    before = await tickets.count("events")
    for name, payload in [
        ("assign", {}),
        ("change_priority", {"priority": "critical"}),
        ("change_status", {"status": "resolved"}),
        ("add_message", {"body": "psst", "internal": True}),
    ]:
        reply = await tickets.cmd(name, maria, ticket_id=mine["ticket_id"], **payload)
        assert reply.error is not None, name
        assert reply.error.code == "forbidden", name
    assert await tickets.count("events") == before


async def test_two_agents_assigning_at_once_one_wins_the_other_gets_409(
    tickets: Tickets,
) -> None:
    maria = await tickets.user("Μαρία")
    agents = [await tickets.user(f"Agent {i}", Role.AGENT) for i in range(2)]
    for _ in range(3):
        ticket = await submit(tickets, maria)
        replies = await asyncio.gather(
            *(tickets.direct(AssignTicket(actor=a, ticket_id=ticket["ticket_id"])) for a in agents)
        )
        codes = sorted(r.error.code if r.error else "ok" for r in replies)
        assert codes == ["already_assigned", "ok"]
        # And the same over NATS, where the gateway turns the code into 409.
        ticket = await submit(tickets, maria)
        replies = await asyncio.gather(
            *(tickets.cmd("assign", a, ticket_id=ticket["ticket_id"]) for a in agents)
        )
        assert sorted(r.error.code if r.error else "ok" for r in replies) == [
            "already_assigned",
            "ok",
        ]


async def test_assigning_to_someone_who_is_not_an_agent_is_refused(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    ticket = await submit(tickets, maria)
    reply = await tickets.cmd(
        "assign", agent, ticket_id=ticket["ticket_id"], assignee_id=str(maria.user_id)
    )
    assert reply.error is not None
    assert reply.error.code == "validation_error"
    reply = await tickets.cmd(
        "assign", agent, ticket_id=ticket["ticket_id"], assignee_id=str(uuid4())
    )
    assert reply.error is not None
    assert reply.error.code == "validation_error"


async def test_the_whole_lifecycle_and_the_requesters_timeline(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent Smith", Role.AGENT)
    ticket = await submit(tickets, maria, "high")
    tid = ticket["ticket_id"]

    tickets.clock.advance(timedelta(minutes=10))
    await tickets.ok("assign", agent, ticket_id=tid)
    await tickets.ok(
        "add_message", agent, ticket_id=tid, body="Only agents see this", internal=True
    )
    reply = await tickets.ok("add_message", agent, ticket_id=tid, body="Δοκιμάστε επανεκκίνηση.")
    assert reply["status"] == "open"
    await tickets.ok("change_status", agent, ticket_id=tid, status="pending")
    reply = await tickets.ok("add_message", maria, ticket_id=tid, body="Δεν έγινε τίποτα.")
    assert reply["status"] == "open"
    await tickets.ok("change_priority", agent, ticket_id=tid, priority="urgent")
    await tickets.ok("change_status", agent, ticket_id=tid, status="resolved")
    closed = await tickets.ok("change_status", maria, ticket_id=tid, status="closed")
    assert closed["status"] == "closed"

    reply = await tickets.cmd("add_message", maria, ticket_id=tid, body="one more thing")
    assert reply.error is not None
    assert reply.error.code == "ticket_closed"

    seen_by_maria = await tickets.ok("get", maria, ticket_id=tid)
    kinds = [e["kind"] for e in seen_by_maria["timeline"]]
    assert kinds == [
        "TicketSubmitted",
        "TicketAssigned",
        "TicketMessageAdded",
        "TicketStatusChanged",
        "TicketMessageAdded",
        "TicketPriorityChanged",
        "TicketStatusChanged",
        "TicketStatusChanged",
    ]
    assert all(not e["internal"] for e in seen_by_maria["timeline"])
    assert seen_by_maria["first_responded_at"] is not None
    seen_by_agent = await tickets.ok("get", agent, ticket_id=tid)
    assert any(e["internal"] for e in seen_by_agent["timeline"])

    listed = await tickets.ok("list", agent, status="closed")
    assert listed["items"][0]["queue"] == "incidents"
    assert listed["items"][0]["assignee"]["name"] == "Agent Smith"


async def test_agents_queue_is_sorted_by_due_time_and_filters(tickets: Tickets) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    low = await submit(tickets, maria, "low")
    critical = await submit(tickets, maria, "critical")
    high = await submit(tickets, maria, "high")
    listed = await tickets.ok("list", agent)
    assert [i["ticket_id"] for i in listed["items"]] == [
        critical["ticket_id"],
        high["ticket_id"],
        low["ticket_id"],
    ]
    only = await tickets.ok("list", agent, priority="high")
    assert [i["ticket_id"] for i in only["items"]] == [high["ticket_id"]]
    incidents = await tickets.ok("list", agent, queue="incidents")
    assert [i["ticket_id"] for i in incidents["items"]] == [critical["ticket_id"]]
    await tickets.ok("assign", agent, ticket_id=low["ticket_id"])
    mine = await tickets.ok("list", agent, assignee_id=str(agent.user_id))
    assert [i["ticket_id"] for i in mine["items"]] == [low["ticket_id"]]
    page = await tickets.ok("list", agent, limit=2)
    assert len(page["items"]) == 2
    rest = await tickets.ok("list", agent, limit=2, cursor=page["next_cursor"])
    assert [i["ticket_id"] for i in rest["items"]] == [low["ticket_id"]]
    assert rest["next_cursor"] is None


async def test_priorities_query_lists_the_five_levels_with_their_sla(tickets: Tickets) -> None:
    reply = await tickets.query("priorities", None)
    assert reply.ok
    items = reply.result["items"]  # type: ignore[index]
    assert [i["key"] for i in items] == [p.value for p in Priority]
    critical = items[-1]
    assert critical["label"] == {"el": "Κρίσιμη", "en": "Critical"}
    assert critical["sla"]["first_response_minutes"] == 15
    assert critical["sla"]["clock"] == "24/7"
    assert items[1]["sla"]["first_response"] == "8 business hours"


async def test_unknown_ticket_is_not_found(tickets: Tickets) -> None:
    agent = await tickets.user("Agent", Role.AGENT)
    reply = await tickets.query("get", agent, ticket_id=str(uuid4()))
    assert reply.error is not None
    assert reply.error.code == "not_found"
    reply = await tickets.cmd("change_status", agent, ticket_id=str(uuid4()), status="open")
    assert reply.error is not None
    assert reply.error.code == "not_found"


async def test_a_forged_actor_sent_straight_to_the_tickets_service_is_refused(
    tickets: Tickets,
) -> None:
    """Anyone who can publish `tickets.cmd.submit` claims to be Maria (no token, or
    Nikos's token): refused, and nothing is stored."""
    maria = await tickets.user("Μαρία")
    nikos = await tickets.user("Νίκος")
    body = submit_body(maria, "Forged", "Not really Maria.", "critical")
    for headers in ({}, headers_for(nikos)):
        msg = await tickets.nc.request(
            "tickets.cmd.submit", json.dumps(body).encode(), timeout=10, headers=headers
        )
        reply = json.loads(msg.data)
        assert reply["error"]["code"] == "unauthenticated"
    assert await tickets.count("events") == 0


async def test_a_submit_is_one_statement_that_writes_all_or_nothing(tickets: Tickets) -> None:
    """A submit without an Idempotency-Key has no transaction: its events, outbox
    rows and projections are one statement. When the last of them fails (here
    the search document, refused by a trigger), nothing of the ticket is stored;
    once the cause is gone the next submit is whole."""
    customer = await tickets.user("Maria")
    await tickets.pool.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'search index unavailable'; END $$;"
        " CREATE TRIGGER refuse BEFORE INSERT ON ticket_search"
        " FOR EACH ROW EXECUTE FUNCTION refuse()"
    )
    before = {t: await tickets.count(t) for t in ("events", "outbox", "tickets", "sla_deadlines")}
    refused = await tickets.cmd(
        "submit", customer, subject="Printer", description="It jams.", priority="normal"
    )
    assert not refused.ok
    assert refused.error is not None
    assert refused.error.code == "internal"
    after = {t: await tickets.count(t) for t in before}
    assert after == before

    await tickets.pool.execute("DROP TRIGGER refuse ON ticket_search")
    ticket = await tickets.ok(
        "submit", customer, subject="Printer", description="It jams.", priority="normal"
    )
    assert await tickets.count("ticket_search") == 1
    stored = await tickets.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1", f"ticket-{ticket['ticket_id']}"
    )
    assert stored == 1


async def test_a_one_statement_unit_of_work_refuses_every_other_write(tickets: Tickets) -> None:
    """Without a transaction, only the one collected save is safe: any other write
    (an idempotency key, an SLA claim, a mail's record, the agents) is refused."""
    async with tickets.app.deps.uow(one_statement=True) as uow:
        with pytest.raises(RuntimeError, match="needs a transaction"):
            await uow.answers.first(uuid4(), "key", "fingerprint")
        with pytest.raises(RuntimeError, match="needs a transaction"):
            await uow.answers.remember(uuid4(), "key", {})
        with pytest.raises(RuntimeError, match="needs a transaction"):
            await uow.deadlines.claim(uuid4())
        with pytest.raises(RuntimeError, match="needs a transaction"):
            await uow.agents.lock_queue("service-desk")
        with pytest.raises(RuntimeError, match="needs a transaction"):
            await uow.mail_log.record("mail-1", uuid4(), Contact(user_id=uuid4()))
        await uow.commit()  # nothing collected: nothing written
    assert await tickets.count("idempotency_keys") == 0

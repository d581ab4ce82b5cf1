"""Exactly-once automatic assignment on the real PostgreSQL: two replicas of the
assignment consumer (each with its own pool) handle the same event
at the same moment, it is redelivered, and a second trigger for the same
ticket races it — the ticket gets one TicketAssigned, to the policy's choice."""

from __future__ import annotations

import asyncio

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.agents import AgentAvailabilityChanged
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.people import UserDeactivated
from helpdesk.contracts.tickets import TicketSubmitted
from helpdesk.servicekit.consumer import EventConsumer, handle_once
from helpdesk.servicekit.db import create_pool
from helpdesk.tickets.handlers.assignment import ASSIGNMENT_CONSUMER, DEACTIVATION_CONSUMER
from tests.integration.tickets.conftest import Tickets
from tests.servers import Servers

pytestmark = pytest.mark.integration


async def stored(tickets: Tickets, event_type: str) -> list[EventEnvelope]:
    rows = await tickets.pool.fetch(
        "SELECT event_id, event_type, data FROM events WHERE event_type = $1 ORDER BY position",
        event_type,
    )
    return [
        EventEnvelope(
            event_id=r["event_id"],
            event_type=r["event_type"],
            schema_version=1,
            producer="tickets",
            correlation_id="test",
            data=r["data"],
        )
        for r in rows
    ]


async def desk_with_one_agent(tickets: Tickets) -> tuple[Actor, Actor, Actor]:
    """An admin, Alpha the service desk's one agent, and a customer, all active."""
    admin = await tickets.user("Admin", Role.ADMIN)
    agent = await tickets.user("Alpha", Role.AGENT)
    customer = await tickets.user("Maria")
    await tickets.pool.execute("UPDATE users SET active = true")
    members = await tickets.cmd(
        "set_queue_members", admin, queue="service-desk", agent_ids=[str(agent.user_id)]
    )
    assert members.ok, members.error
    return admin, agent, customer


def assignment_consumer(tickets: Tickets) -> EventConsumer:
    return next(c for c in tickets.app.consumers if c.name == ASSIGNMENT_CONSUMER)


async def test_two_replicas_and_redeliveries_assign_each_ticket_once(
    tickets: Tickets, servers: Servers
) -> None:
    admin = await tickets.user("Admin", Role.ADMIN)
    alpha = await tickets.user("Alpha", Role.AGENT)
    beta = await tickets.user("Beta", Role.AGENT)
    customer = await tickets.user("Maria")
    await tickets.pool.execute("UPDATE users SET active = true")
    members = await tickets.cmd(
        "set_queue_members",
        admin,
        queue="service-desk",
        agent_ids=[str(alpha.user_id), str(beta.user_id)],
    )
    assert members.ok, members.error
    away = await tickets.cmd("set_availability", beta, available=False)
    assert away.ok, away.error
    for n in range(6):
        await tickets.ok("submit", customer, subject=f"t{n}", description="x", priority="normal")

    # Two replicas: each its own pool on the same schema.
    pools = [
        await create_pool(servers.database_url, tickets.schema, min_size=1, max_size=5)
        for _ in range(2)
    ]
    consumer = assignment_consumer(tickets)
    try:
        submitted = await stored(tickets, TicketSubmitted.event_type)
        assert len(submitted) == 6

        async def deliver(replica: int, envelope: EventEnvelope) -> bool:
            bound = consumer
            for _ in range(10):  # the kit retries a failed delivery (nak) later
                try:
                    return await handle_once(pools[replica], bound, envelope)
                except Exception:  # a lost race: ConcurrencyError, rolled back
                    await asyncio.sleep(0.05)
            raise AssertionError("never handled")

        # Every submission delivered to both replicas at once, twice over.
        # No inbox: each delivery runs, and the aggregate makes the later ones no-ops.
        await asyncio.gather(
            *(deliver(r, e) for e in submitted for r in (0, 1)),
            *(deliver(r, e) for e in submitted for r in (1, 0)),
        )
        assert await tickets.pool.fetchval("SELECT count(*) FROM inbox") == 0

        # Beta comes back: that trigger races the redelivered submissions.
        back = await tickets.cmd("set_availability", beta, available=True)
        assert back.ok, back.error
        (available,) = [
            e
            for e in await stored(tickets, AgentAvailabilityChanged.event_type)
            if e.data["available"]
        ]
        await asyncio.gather(deliver(0, available), deliver(1, available), deliver(0, submitted[0]))
    finally:
        for pool in pools:
            await pool.close()

    assigned = await stored(tickets, "TicketAssigned")
    per_ticket = [e.data["ticket_id"] for e in assigned]
    assert len(per_ticket) == len(set(per_ticket)) == 6  # one assignment per ticket
    assert {e.data["assignee"]["user_id"] for e in assigned} == {str(alpha.user_id)}
    reasons = [e.data["reason"] for e in assigned]
    assert all(r["policy"] == "least_open" and r["trigger"] == "submitted" for r in reasons)
    assert [r["open_tickets"] for r in reasons] == list(range(6))
    assert all(r["candidates"] == [str(alpha.user_id)] for r in reasons)


async def test_a_ticket_moved_to_another_queue_is_assigned_there_not_where_it_was_submitted(
    tickets: Tickets,
) -> None:
    """The submission names the queue it was filed in; if the ticket moved on before
    the assigner saw it, that queue's agents must not get it: the move's own event
    assigns it in its new queue."""
    admin = await tickets.user("Admin", Role.ADMIN)
    desk = await tickets.user("Desk", Role.AGENT)
    oncall = await tickets.user("Oncall", Role.AGENT)
    customer = await tickets.user("Maria")
    await tickets.pool.execute("UPDATE users SET active = true")
    for queue, agent in (("service-desk", desk), ("incidents", oncall)):
        members = await tickets.cmd(
            "set_queue_members", admin, queue=queue, agent_ids=[str(agent.user_id)]
        )
        assert members.ok, members.error
    ticket = await tickets.ok(
        "submit", customer, subject="Server down", description="x", priority="normal"
    )
    await tickets.ok("change_priority", desk, ticket_id=ticket["ticket_id"], priority="urgent")
    consumer = assignment_consumer(tickets)

    (submitted,) = await stored(tickets, TicketSubmitted.event_type)
    assert await handle_once(tickets.pool, consumer, submitted)
    assert await stored(tickets, "TicketAssigned") == []

    (moved,) = await stored(tickets, "TicketPriorityChanged")
    assert await handle_once(tickets.pool, consumer, moved)
    (assigned,) = await stored(tickets, "TicketAssigned")
    assert assigned.data["assignee"]["user_id"] == str(oncall.user_id)
    assert assigned.data["reason"]["trigger"] == "priority_changed"


async def test_a_ticket_nobody_could_take_waits_and_goes_to_the_next_agent_available(
    tickets: Tickets,
) -> None:
    """With nobody available the submission's trigger ends after reading the
    candidates (no lock, no transaction); the ticket is not lost: the agent's
    return is a trigger of its own, which finds the committed, waiting ticket."""
    _admin, agent, customer = await desk_with_one_agent(tickets)
    away = await tickets.cmd("set_availability", agent, available=False)
    assert away.ok, away.error
    ticket = await tickets.ok(
        "submit", customer, subject="Printer", description="x", priority="normal"
    )
    consumer = assignment_consumer(tickets)

    (submitted,) = await stored(tickets, TicketSubmitted.event_type)
    await handle_once(tickets.pool, consumer, submitted)
    assert await stored(tickets, "TicketAssigned") == []

    back = await tickets.cmd("set_availability", agent, available=True)
    assert back.ok, back.error
    (available,) = [
        e for e in await stored(tickets, AgentAvailabilityChanged.event_type) if e.data["available"]
    ]
    await handle_once(tickets.pool, consumer, available)
    await handle_once(tickets.pool, consumer, submitted)  # redelivered late: nothing more
    (assigned,) = await stored(tickets, "TicketAssigned")
    assert assigned.data["ticket_id"] == ticket["ticket_id"]
    assert assigned.data["assignee"]["user_id"] == str(agent.user_id)
    assert assigned.data["reason"]["trigger"] == "agent_available"


async def test_a_deactivation_hands_the_agent_s_tickets_back_once_through_the_inbox(
    tickets: Tickets,
) -> None:
    """The deactivation consumer runs in the kit's inbox transaction: its unit of
    work is a savepoint there, and a redelivery is answered by the inbox."""
    admin, agent, customer = await desk_with_one_agent(tickets)
    await tickets.ok("submit", customer, subject="Printer", description="x", priority="normal")
    (submitted,) = await stored(tickets, TicketSubmitted.event_type)
    await handle_once(tickets.pool, assignment_consumer(tickets), submitted)
    assert len(await stored(tickets, "TicketAssigned")) == 1

    deactivated = EventEnvelope.wrap(
        UserDeactivated(
            user_id=agent.user_id,
            username="alpha",
            by=admin.user_id,
            deactivated_at=tickets.clock.now(),
        ),
        correlation_id="test",
    )
    consumer = next(c for c in tickets.app.consumers if c.name == DEACTIVATION_CONSUMER)
    assert await handle_once(tickets.pool, consumer, deactivated)
    assert not await handle_once(tickets.pool, consumer, deactivated)  # the inbox has it

    (unassigned,) = await stored(tickets, "TicketUnassigned")
    assert unassigned.data["reason"] == "deactivated"
    active = await tickets.pool.fetchval(
        "SELECT active FROM users WHERE user_id = $1", agent.user_id
    )
    assert active is False

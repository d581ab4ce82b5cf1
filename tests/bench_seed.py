"""The history `make bench-scale` seeds: ticket streams made by the domain and the
repository's own conversion, written in bulk.

The bulk path (documented in docs/performance.md) produces the rows the real
append path would: each command's events come from the `Ticket` aggregate
(`submit`, `assign`, `add_message`, `change_status`, `check_sla`) with the same
contract conversion, envelope and metadata as `PostgresTickets.save`; they
are inserted with the event store's columns in stream order. What it skips
is the per-command transaction: the outbox (rows that would be published and
deleted — the seeded past was published long ago), and the projections, which
the benchmark then builds with the projection rebuild (the same `apply`). The
notifier's inbox gets the row its consumers would have left for each mailed
event. Numbers follow each year's sequence, which is moved past them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Category, Contact, TicketStatus
from helpdesk.notifier.bootstrap import TICKET_MAILS as MAILS_CONSUMER
from helpdesk.servicekit.outbox import OutgoingMessage
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.adapters.repository import NUMBER_TIMEZONE, stream_id
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket

PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.URGENT]

Row = tuple[str, int, UUID, str, int, dict[str, Any], dict[str, Any], datetime]


@dataclass
class People:
    customers: list[Contact]
    agents: list[Contact]


def people(customers: int = 2000, agents: int = 40) -> People:
    def contact(kind: str, i: int) -> Contact:
        return Contact(
            user_id=uuid4(), name=f"{kind} {i}", email=f"{kind}{i}@example.com", locale="el"
        )

    return People(
        customers=[contact("customer", i) for i in range(customers)],
        agents=[contact("agent", i) for i in range(agents)],
    )


class Numbers:
    def __init__(self, last: dict[int, int] | None = None) -> None:
        self.last: dict[int, int] = dict(last or {})

    def take(self, at: datetime) -> str:
        year = at.astimezone(NUMBER_TIMEZONE).year
        self.last[year] = self.last.get(year, 0) + 1
        return f"HD-{year}-{self.last[year]:06d}"


def ticket_history(
    rng: random.Random, numbers: Numbers, who: People, policy: RoutingPolicy, now: datetime
) -> list[Row]:
    """One ticket's stream: submitted, then (mostly) assigned, answered, replied to,
    resolved and closed over the following days; SLA alarms where they passed."""
    created = now - timedelta(seconds=rng.uniform(3600, 300 * 86400))
    requester = rng.choice(who.customers)
    agent = rng.choice(who.agents)
    customer = Caller(contact=requester, is_agent=False)
    staff = Caller(contact=agent, is_agent=True)
    ticket = Ticket.submit(
        ticket_id=uuid4(),
        number=numbers.take(created),
        requester=requester,
        subject=f"Πρόβλημα {rng.randrange(10**6)}",
        description="Δεν λειτουργεί από το πρωί. " * rng.randint(1, 6),
        priority=rng.choice(PRIORITIES),
        category=rng.choice(list(Category)),
        policy=policy,
        now=created,
    )
    rows: list[Row] = []

    def save(at: datetime, by: Contact | None) -> None:
        correlation_id = f"seed-{uuid4()}"
        metadata = {"correlation_id": correlation_id, "actor_id": str(by.user_id) if by else None}
        version = ticket.version
        for event in contract_events(ticket):
            m = OutgoingMessage.of(event, correlation_id=correlation_id)
            version += 1
            rows.append(
                (
                    stream_id(ticket.ticket_id),
                    version,
                    m.envelope.event_id,
                    m.envelope.event_type,
                    m.envelope.schema_version,
                    m.envelope.data,
                    metadata,
                    at,
                )
            )
        ticket.saved()

    save(created, requester)
    at = created
    steps = rng.random()
    for step, done in enumerate((0.05, 0.15, 0.3, 0.45, 0.6)):
        at = min(now, at + timedelta(minutes=rng.uniform(5, 60 * 24)))
        if steps < done:
            break
        by = agent
        if step == 0:
            ticket.assign(
                staff, agent, assignee_is_agent=True, reassign=False, policy=policy, now=at
            )
        elif step == 1:
            ticket.add_message(staff, body="Το εξετάζουμε.", internal=False, policy=policy, now=at)
        elif step == 2:
            by = requester
            ticket.add_message(customer, body="Ευχαριστώ.", internal=False, policy=policy, now=at)
        elif step == 3:
            ticket.change_status(staff, TicketStatus.RESOLVED, policy=policy, now=at)
        else:
            by = requester
            ticket.change_status(customer, TicketStatus.CLOSED, policy=policy, now=at)
        save(at, by)
    # What the SLA monitor would have emitted by now for a ticket still running.
    if ticket.check_sla(now):
        save(now, None)
    return rows


def histories(
    tickets: int, policy: RoutingPolicy, now: datetime, numbers: Numbers, seed: int = 17
) -> Iterator[list[Row]]:
    """Batches of streams (about 500 tickets each), in no particular order."""
    rng = random.Random(seed)
    who = people()
    batch: list[Row] = []
    for i in range(tickets):
        batch.extend(ticket_history(rng, numbers, who, policy, now))
        if (i + 1) % 500 == 0:
            yield batch
            batch = []
    yield batch


_INSERT = """
INSERT INTO events (stream_id, version, event_id, event_type, schema_version, data, metadata,
                    recorded_at)
SELECT * FROM unnest($1::text[], $2::int[], $3::uuid[], $4::text[], $5::int[], $6::jsonb[],
                     $7::jsonb[], $8::timestamptz[])
"""


async def write_events(conn: asyncpg.Connection, rows: list[Row]) -> None:
    if rows:
        await conn.execute(_INSERT, *(list(column) for column in zip(*rows, strict=True)))


async def write_inbox(conn: asyncpg.Connection, rows: list[Row]) -> None:
    """The notifier's inbox rows for the seeded events (it mails nearly every one)."""
    if rows:
        await conn.execute(
            "INSERT INTO notifier.inbox (consumer, event_id, handled_at)"
            " SELECT $1, * FROM unnest($2::uuid[], $3::timestamptz[])",
            MAILS_CONSUMER,
            [r[2] for r in rows],
            [r[7] for r in rows],
        )


async def numbers_taken(conn: asyncpg.Connection, years: range) -> Numbers:
    """The numbers the running system already gave out, to seed after them."""
    last: dict[int, int] = {}
    for year in years:
        name = f"tickets.ticket_number_{year}"
        if await conn.fetchval("SELECT to_regclass($1)", name) is not None:
            row = await conn.fetchrow(f"SELECT last_value, is_called FROM {name}")
            last[year] = row["last_value"] if row["is_called"] else 0
    return Numbers(last)


async def move_sequences(conn: asyncpg.Connection, numbers: Numbers) -> None:
    """Each year's number sequence continues after the seeded tickets."""
    for year, last in numbers.last.items():
        if last == 0:
            continue
        await conn.execute(f"CREATE SEQUENCE IF NOT EXISTS tickets.ticket_number_{int(year)}")
        await conn.execute("SELECT setval($1::regclass, $2)", f"tickets.ticket_number_{year}", last)

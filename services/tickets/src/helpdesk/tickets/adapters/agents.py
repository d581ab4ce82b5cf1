"""Queues' members and agents' availability in PostgreSQL: their streams
(`queue-<name>`, `agent-<id>`) in the tickets store, the projection that keeps
`queue_members`, `agents` and `queue_assignments`, and the questions the
assignment asks (docs/assignment.md).

Everything runs on the caller's connection, inside its transaction: the unit
of work's for commands, the delivery's for the assignment handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from helpdesk.contracts.agents import AgentAvailabilityChanged, QueueMember, QueueMembersChanged
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.tickets import Contact, TicketAssigned
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent, RecordedEvent
from helpdesk.servicekit.outbox import OutgoingMessage
from helpdesk.servicekit.projections import ByEventType, Projection, apply_all
from helpdesk.servicekit.runtime import current_correlation_id
from helpdesk.tickets.domain.assignment import Candidate

OPEN_WORK = ("submitted", "open", "pending")


async def _members_changed(conn: Connection, recorded: RecordedEvent) -> None:
    changed = QueueMembersChanged.model_validate(recorded.data)
    await conn.execute(
        "DELETE FROM queue_members WHERE queue = $1 AND NOT (user_id = any($2::uuid[]))",
        changed.queue,
        changed.members,
    )
    await conn.execute(
        "INSERT INTO queue_members (queue, user_id, added_at)"
        " SELECT $1, u, $3 FROM unnest($2::uuid[]) AS u ON CONFLICT DO NOTHING",
        changed.queue,
        changed.members,
        changed.at,
    )


async def _availability_changed(conn: Connection, recorded: RecordedEvent) -> None:
    availability = AgentAvailabilityChanged.model_validate(recorded.data)
    await conn.execute(
        "INSERT INTO agents (user_id, available, back_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id) DO UPDATE SET available = excluded.available,"
        " back_at = excluded.back_at",
        availability.user_id,
        availability.available,
        availability.back_at,
    )


async def _assigned(conn: Connection, recorded: RecordedEvent) -> None:
    assigned = TicketAssigned.model_validate(recorded.data)
    user_id = assigned.assignee.user_id
    await conn.execute(
        "INSERT INTO agents (user_id, last_assigned_at) VALUES ($1, $2)"
        " ON CONFLICT (user_id) DO UPDATE SET last_assigned_at ="
        " greatest(agents.last_assigned_at, excluded.last_assigned_at)",
        user_id,
        assigned.at,
    )
    queue = assigned.queue or await conn.fetchval(
        "SELECT queue FROM tickets WHERE ticket_id = $1", assigned.ticket_id
    )
    if queue:
        await conn.execute(
            "INSERT INTO queue_assignments (queue, user_id, last_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (queue, user_id) DO UPDATE SET last_at ="
            " greatest(queue_assignments.last_at, excluded.last_at)",
            queue,
            user_id,
            assigned.at,
        )


def _contact(row: asyncpg.Record) -> Contact:
    """A user's contact from a row with the `users` columns."""
    return Contact(
        user_id=row["user_id"], name=row["name"], email=row["email"], locale=row["locale"]
    )


class AgentsProjection:
    """`queue_members`, `agents` and `queue_assignments` from the tickets store."""

    name = "agents"
    tables: Sequence[str] = ("queue_members", "agents", "queue_assignments")
    apply = ByEventType(
        {
            QueueMembersChanged: _members_changed,
            AgentAvailabilityChanged: _availability_changed,
            TicketAssigned: _assigned,
        }
    )
    # The events `apply` changes anything for (servicekit.projections.writes_of).
    handles = apply.handles


class PostgresAgents:
    """Queues and availability on one connection: inside its transaction, or
    `read_only` in a one-statement unit of work (which has no transaction)."""

    def __init__(
        self,
        conn: Connection,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        read_only: bool = False,
    ) -> None:
        self.conn = conn
        self.store = store
        self.projections = projections
        self.read_only = read_only

    def _needs_transaction(self) -> None:
        if self.read_only:
            raise RuntimeError("this needs a transaction: not a one-statement unit")

    async def record(self, stream: str, event: EventData, *, by: UUID | None) -> None:
        """Append `event` to `stream` (after whatever it holds), publish it, project it."""
        self._needs_transaction()
        correlation_id = current_correlation_id()
        message = OutgoingMessage.of(event, correlation_id=correlation_id)
        version = await self.conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream
        )
        recorded = await self.store.append(
            self.conn,
            stream,
            version,
            [
                NewEvent(
                    event_type=message.envelope.event_type,
                    data=message.envelope.data,
                    event_id=message.envelope.event_id,
                    schema_version=message.envelope.schema_version,
                    metadata={
                        "correlation_id": correlation_id,
                        "actor_id": str(by) if by else None,
                    },
                )
            ],
            publish=[message],
        )
        await apply_all(self.conn, self.projections, recorded)

    async def members(self, queue: str) -> list[QueueMember]:
        rows = await self.conn.fetch(
            "SELECT m.user_id, u.name, u.username, coalesce(a.available, true) AS available,"
            " a.back_at, (SELECT count(*) FROM tickets t WHERE t.assignee_id = m.user_id"
            "   AND t.status = any($2::text[])) AS open_tickets"
            " FROM queue_members m LEFT JOIN users u ON u.user_id = m.user_id"
            " LEFT JOIN agents a ON a.user_id = m.user_id"
            " WHERE m.queue = $1 ORDER BY m.added_at, m.user_id",
            queue,
            list(OPEN_WORK),
        )
        return [QueueMember(**dict(row.items())) for row in rows]

    async def member_ids(self, queue: str) -> list[UUID]:
        rows = await self.conn.fetch(
            "SELECT user_id FROM queue_members WHERE queue = $1 ORDER BY added_at, user_id", queue
        )
        return [row["user_id"] for row in rows]

    async def queues_of(self, user_id: UUID) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT queue FROM queue_members WHERE user_id = $1 ORDER BY queue", user_id
        )
        return [row["queue"] for row in rows]

    async def availability(self, user_id: UUID) -> tuple[bool, datetime | None]:
        row = await self.conn.fetchrow(
            "SELECT available, back_at FROM agents WHERE user_id = $1", user_id
        )
        return (True, None) if row is None else (row["available"], row["back_at"])

    async def open_tickets_of(self, user_id: UUID) -> list[UUID]:
        rows = await self.conn.fetch(
            "SELECT ticket_id FROM tickets WHERE assignee_id = $1 AND status = any($2::text[])"
            " ORDER BY next_due NULLS LAST, created_at",
            user_id,
            list(OPEN_WORK),
        )
        return [row["ticket_id"] for row in rows]

    async def active_agents(self, user_ids: list[UUID]) -> set[UUID]:
        rows = await self.conn.fetch(
            "SELECT user_id FROM users WHERE user_id = any($1::uuid[]) AND active"
            " AND roles && '{agent,admin}'::text[]",
            user_ids,
        )
        return {row["user_id"] for row in rows}

    async def ids_by_username(self, usernames: list[str]) -> dict[str, UUID]:
        rows = await self.conn.fetch(
            "SELECT lower(username) AS key, user_id FROM users"
            " WHERE lower(username) = any($1::text[])",
            [u.lower() for u in usernames],
        )
        return {row["key"]: row["user_id"] for row in rows}

    # --- what the assignment asks ---------------------------------------------------------

    async def lock_queue(self, queue: str) -> None:
        """Serialise the assignments of one queue until the transaction ends, so each
        choice sees the previous one's counts (replicas included)."""
        self._needs_transaction()
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"assign:{queue}")

    async def candidates(self, queue: str) -> list[Candidate]:
        """The queue's members who are active agents, with what the policies weigh."""
        rows = await self.conn.fetch(
            "SELECT m.user_id, m.added_at, u.name, u.email, u.locale,"
            " coalesce(a.available, true) AS available, a.last_assigned_at, qa.last_at,"
            " (SELECT count(*) FROM tickets t WHERE t.assignee_id = m.user_id"
            "   AND t.status = any($2::text[])) AS open_tickets"
            " FROM queue_members m JOIN users u ON u.user_id = m.user_id"
            " LEFT JOIN agents a ON a.user_id = m.user_id"
            " LEFT JOIN queue_assignments qa ON qa.queue = m.queue AND qa.user_id = m.user_id"
            " WHERE m.queue = $1 AND u.active AND u.roles && '{agent,admin}'::text[]"
            " ORDER BY m.added_at, m.user_id",
            queue,
            list(OPEN_WORK),
        )
        return [
            Candidate(
                contact=_contact(row),
                available=row["available"],
                open_tickets=row["open_tickets"],
                last_assigned_at=row["last_assigned_at"],
                last_from_queue_at=row["last_at"],
                member_since=row["added_at"],
            )
            for row in rows
        ]

    async def waiting(self, queues: Sequence[str], limit: int) -> list[UUID]:
        """Unassigned open work in `queues`, the soonest due first."""
        rows = await self.conn.fetch(
            "SELECT ticket_id FROM tickets WHERE queue = any($1::text[]) AND assignee_id IS NULL"
            " AND status = any($2::text[]) ORDER BY next_due NULLS LAST, created_at LIMIT $3",
            list(queues),
            list(OPEN_WORK),
            limit,
        )
        return [row["ticket_id"] for row in rows]

    async def admins_of(self, queue: str) -> list[Contact]:
        rows = await self.conn.fetch(
            "SELECT u.user_id, u.name, u.email, u.locale, m.user_id IS NOT NULL AS member"
            " FROM users u LEFT JOIN queue_members m ON m.user_id = u.user_id AND m.queue = $1"
            " WHERE u.active AND 'admin' = any(u.roles) ORDER BY u.user_id",
            queue,
        )
        members = [row for row in rows if row["member"]]
        return [_contact(row) for row in members or rows]

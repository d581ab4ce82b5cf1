"""The tickets read model (lists, queues) and the SLA deadlines the monitor scans.

Both are fed from the ticket streams (stored in their contract form, see
`contract_events.py`) in the command's transaction and can be rebuilt from the
event store (`helpdesk` CLI, projections rebuild). The SLA monitor reads and
settles `sla_deadlines` through the functions at the end of this module only.

Each event is first described as a `TicketChange` (`CHANGES`, a table by
event class: the one place that knows what an event does to the read model);
live, the change runs as one SQL statement (`_statement`); in a rebuild it is
folded into rows held in memory (`_fold`), written once at the end
(servicekit/projections.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from helpdesk.contracts.tickets import (
    SlaSchedule,
    TicketAssigned,
    TicketAwaitingAgent,
    TicketEscalated,
    TicketEvent,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketRated,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketStatusChanged,
    TicketSubmitted,
    TicketUnassigned,
)
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.servicekit.projections import Rows
from helpdesk.servicekit.statements import Write
from helpdesk.tickets.adapters.contract_events import stored_event

DEADLINE_KINDS = (
    ("first_response_warning", "first_response_warning_at"),
    ("first_response_breach", "first_response_due"),
    ("resolution_warning", "resolution_warning_at"),
    ("resolution_breach", "resolution_due"),
    ("escalation", "escalate_at"),
    ("auto_close", "auto_close_at"),  # a resolved ticket closes by itself (the monitor)
)

TICKET_COLUMNS = (
    "ticket_id",
    "number",
    "requester_id",
    "requester_name",
    "subject",
    "status",
    "priority",
    "category",
    "queue",
    "assignee_id",
    "assignee_name",
    "first_response_due",
    "resolution_due",
    "next_due",
    "created_at",
    "updated_at",
    "version",
)
DEADLINE_COLUMNS = ("ticket_id", "kind", "due_at", "fired")


@dataclass(frozen=True)
class TicketChange:
    """What one event does to a ticket's row and its deadlines."""

    ticket_id: UUID
    # A new ticket's whole row (kept if the ticket is already there).
    new_row: dict[str, Any] | None = None
    # Columns set on the ticket's row.
    sets: dict[str, Any] = field(default_factory=dict)
    # The ticket's deadlines from now on (kind -> due); None leaves them as they are.
    deadlines: dict[str, datetime] | None = None
    # Deadlines that fired (each fires once per ticket).
    fired: tuple[str, ...] = ()


def _submitted(event: TicketSubmitted, version: int) -> TicketChange:
    row: dict[str, Any] = dict.fromkeys(TICKET_COLUMNS)
    row.update(
        ticket_id=event.ticket_id,
        number=event.number,
        requester_id=event.requester.user_id,
        requester_name=event.requester.name,
        subject=event.subject_line,
        status="submitted",
        priority=event.priority.value,
        category=event.category.value if event.category else None,
        queue=event.queue,
        **_schedule(event.sla),
        created_at=event.at,
        updated_at=event.at,
        version=version,
    )
    return TicketChange(event.ticket_id, new_row=row, deadlines=_deadlines(event.sla))


def _rescheduled(
    sets: Callable[[Any], dict[str, Any]],
) -> Callable[[TicketEvent, int], TicketChange]:
    """An event carrying the ticket's SLA schedule anew: `sets` plus its due times."""

    def described(event: Any, version: int) -> TicketChange:
        sla: SlaSchedule = event.sla
        return TicketChange(
            event.ticket_id,
            sets={**_schedule(sla), "updated_at": event.at, "version": version, **sets(event)},
            deadlines=_deadlines(sla),
        )

    return described


def _fired(kinds: Callable[[Any], tuple[str, ...]]) -> Callable[[TicketEvent, int], TicketChange]:
    """An event that fires deadlines (each once per ticket) and moves none."""

    def described(event: Any, version: int) -> TicketChange:
        return TicketChange(event.ticket_id, sets={"version": version}, fired=kinds(event))

    return described


def _unassigned(event: TicketUnassigned, version: int) -> TicketChange:
    """The deadlines stay as they are."""
    cleared = {"assignee_id": None, "assignee_name": None}
    return TicketChange(
        event.ticket_id, sets={**cleared, "updated_at": event.at, "version": version}
    )


def _versioned(event: TicketEvent, version: int) -> TicketChange:
    return TicketChange(event.ticket_id, sets={"version": version})


# What each event does to the read model: the one place that knows.
CHANGES: dict[type[TicketEvent], Callable[[Any, int], TicketChange]] = {
    TicketSubmitted: _submitted,
    TicketMessageAdded: _rescheduled(lambda e: {"status": e.status.value}),
    TicketStatusChanged: _rescheduled(lambda e: {"status": e.to_status.value}),
    TicketPriorityChanged: _rescheduled(lambda e: {"priority": e.priority.value, "queue": e.queue}),
    TicketAssigned: _rescheduled(
        lambda e: {
            "assignee_id": e.assignee.user_id,
            "assignee_name": e.assignee.name,
            "status": e.status.value,
        }
    ),
    TicketUnassigned: _unassigned,
    TicketSlaWarning: _fired(lambda e: (f"{e.target.value}_warning",)),
    TicketSlaBreached: _fired(lambda e: (f"{e.target.value}_warning", f"{e.target.value}_breach")),
    TicketEscalated: _fired(lambda e: ("escalation",)),
    TicketAwaitingAgent: _versioned,
    TicketRated: _versioned,
}


def change(event: TicketEvent, version: int) -> TicketChange | None:
    described = CHANGES.get(type(event))
    return None if described is None else described(event, version)


def _schedule(sla: SlaSchedule) -> dict[str, datetime | None]:
    running = [due for due in (sla.first_response_due, sla.resolution_due) if due is not None]
    return {
        "first_response_due": sla.first_response_due,
        "resolution_due": sla.resolution_due,
        # The soonest running deadline (PostgreSQL's least(): NULLs ignored).
        "next_due": min(running, default=None),
    }


def _deadlines(sla: SlaSchedule) -> dict[str, datetime]:
    dues = ((kind, getattr(sla, attr)) for kind, attr in DEADLINE_KINDS)
    return {kind: due for kind, due in dues if due is not None}


class TicketsProjection:
    name = "tickets"
    tables: Sequence[str] = ("tickets", "sla_deadlines")
    columns: Mapping[str, Sequence[str]] = {
        "tickets": TICKET_COLUMNS,
        "sla_deadlines": DEADLINE_COLUMNS,
    }

    def write(self, recorded: RecordedEvent) -> Write | None:
        described = _described(recorded)
        return None if described is None else _statement(described)

    async def apply(self, conn: Connection, recorded: RecordedEvent) -> None:
        if (write := self.write(recorded)) is not None:
            await write.run(conn)

    def fold(self, rows: Rows, recorded: RecordedEvent) -> None:
        described = _described(recorded)
        if described is not None:
            _fold(rows, described)


def _described(recorded: RecordedEvent) -> TicketChange | None:
    event = stored_event(recorded.event_type, recorded.data)
    return None if event is None else change(event, recorded.version)


def _statement(c: TicketChange) -> Write:
    """The change as one statement, one round trip: the deadlines (or the fired
    flags) in data-modifying CTEs, then the ticket row. They touch different
    rows, so running them in one statement is the same as in sequence."""
    args: list[Any] = [c.ticket_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    ctes: list[tuple[str, str]] = []
    if c.deadlines is not None:
        kinds, dues = arg(list(c.deadlines)), arg(list(c.deadlines.values()))
        # A moved deadline keeps its `fired` flag.
        ctes.append(
            (
                "deadlines_gone",
                "DELETE FROM sla_deadlines WHERE ticket_id = $1"
                f" AND NOT (kind = any({kinds}::text[]))",
            )
        )
        ctes.append(
            (
                "deadlines_kept",
                "INSERT INTO sla_deadlines (ticket_id, kind, due_at)"
                f" SELECT $1, k, d FROM unnest({kinds}::text[], {dues}::timestamptz[]) AS t(k, d)"
                " ON CONFLICT (ticket_id, kind) DO UPDATE SET due_at = excluded.due_at",
            )
        )
    if c.fired:
        assert c.deadlines is None, "a change both moves and fires deadlines"
        ctes.append(
            (
                "deadlines_fired",
                "UPDATE sla_deadlines SET fired = true"
                f" WHERE ticket_id = $1 AND kind = any({arg(list(c.fired))}::text[])",
            )
        )
    if c.new_row is not None:
        names = [name for name in c.new_row if name != "ticket_id"]
        values = ", ".join(arg(c.new_row[name]) for name in names)
        ticket = (
            f"INSERT INTO tickets (ticket_id, {', '.join(names)}) VALUES ($1, {values})"
            " ON CONFLICT (ticket_id) DO NOTHING"
        )
    else:
        sets = ", ".join(f"{name} = {arg(value)}" for name, value in c.sets.items())
        ticket = f"UPDATE tickets SET {sets} WHERE ticket_id = $1"
    return Write(main=ticket, args=tuple(args), ctes=tuple(ctes))


def _fold(rows: Rows, c: TicketChange) -> None:
    """The change applied to rows in memory, as `_statement` applies it in SQL."""
    tid = c.ticket_id
    if c.deadlines is not None:
        for kind, _ in DEADLINE_KINDS:
            due = c.deadlines.get(kind)
            if due is None:
                rows.delete("sla_deadlines", (tid, kind))
            else:
                inserted = {"ticket_id": tid, "kind": kind, "fired": False}
                rows.upsert("sla_deadlines", (tid, kind), {"due_at": due}, inserted)
    for kind in c.fired:
        rows.update("sla_deadlines", (tid, kind), {"fired": True})
    if c.new_row is not None:
        rows.insert("tickets", tid, dict(c.new_row))
    else:
        rows.update("tickets", tid, c.sets)


# --- what the SLA monitor asks of the deadlines ------------------------------------------

_DUE = (
    "SELECT ticket_id, min(due_at) AS due_at FROM sla_deadlines"
    " WHERE NOT fired AND due_at <= $1 GROUP BY ticket_id ORDER BY min(due_at) LIMIT $2"
)


async def tickets_due(conn: Connection, now: datetime, limit: int) -> list[UUID]:
    """Tickets with a passed deadline not yet fired, the most overdue first."""
    rows = await conn.fetch(_DUE, now, limit)
    return [row["ticket_id"] for row in rows]


async def settle_deadlines(conn: Connection, ticket_id: UUID, now: datetime) -> None:
    """Mark the ticket's passed deadlines fired: its aggregate found nothing left to
    emit for them (each fires once per ticket, also after a reopen)."""
    await conn.execute(
        "UPDATE sla_deadlines SET fired = true WHERE ticket_id = $1 AND NOT fired AND due_at <= $2",
        ticket_id,
        now,
    )


class PostgresDeadlines:
    """The SLA monitor's `Deadlines` port on the unit of work's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def due(self, now: datetime, limit: int) -> list[UUID]:
        return await tickets_due(self.conn, now, limit)

    async def claim(self, ticket_id: UUID) -> bool:
        # Transaction-scoped: released at commit or rollback.
        return bool(
            await self.conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1))", f"sla:{ticket_id}"
            )
        )

    async def settle(self, ticket_id: UUID, now: datetime) -> None:
        await settle_deadlines(self.conn, ticket_id, now)

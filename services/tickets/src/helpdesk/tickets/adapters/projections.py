"""The tickets read model (lists, queues) and the SLA deadlines the monitor scans.

Both are fed from the ticket streams (stored in their contract form, see
`contract_events.py`) in the command's transaction and can be rebuilt from the
event store (`helpdesk` CLI, projections rebuild). The SLA monitor reads and
settles `sla_deadlines` through the functions at the end of this module only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from helpdesk.contracts.tickets import (
    SlaSchedule,
    TicketAssigned,
    TicketEscalated,
    TicketEvent,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketStatusChanged,
    TicketSubmitted,
    TicketUnassigned,
)
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.tickets.adapters.contract_events import stored_event

DEADLINE_KINDS = (
    ("first_response_warning", "first_response_warning_at"),
    ("first_response_breach", "first_response_due"),
    ("resolution_warning", "resolution_warning_at"),
    ("resolution_breach", "resolution_due"),
    ("escalation", "escalate_at"),
)

_NEXT_DUE = "least($2::timestamptz, $3::timestamptz)"


class TicketsProjection:
    name = "tickets"
    tables: Sequence[str] = ("tickets", "sla_deadlines")
    # Every statement below is keyed by ticket_id, its first argument: a rebuild
    # may batch statements of different tickets (servicekit/projections.py).
    statements_keyed_by_first_argument = True

    async def apply(self, conn: Connection, recorded: RecordedEvent) -> None:
        event = stored_event(recorded.event_type, recorded.data)
        if event is not None:
            await self._apply(conn, event, recorded.version)

    async def _apply(self, conn: Connection, event: TicketEvent, version: int) -> None:
        """One statement per event: the ticket row and its deadlines together."""
        tid = event.ticket_id
        if isinstance(event, TicketSubmitted):
            await _with_deadlines(
                conn,
                event.sla,
                "INSERT INTO tickets (ticket_id, number, requester_id, requester_name, subject,"
                " status, priority, category, queue, first_response_due, resolution_due,"
                " next_due, created_at, updated_at, version)"
                " VALUES ($1, $4, $5, $6, $7, 'submitted', $8, $9, $10, $2, $3, "
                + _NEXT_DUE
                + ", $11, $11, $12) ON CONFLICT (ticket_id) DO NOTHING",
                tid,
                event.sla.first_response_due,
                event.sla.resolution_due,
                event.number,
                event.requester.user_id,
                event.requester.name,
                event.subject_line,
                event.priority.value,
                event.category.value if event.category else None,
                event.queue,
                event.at,
                version,
            )
        elif isinstance(event, TicketMessageAdded):
            await self._update(conn, event, version, "status = $6", event.status.value)
        elif isinstance(event, TicketStatusChanged):
            await self._update(conn, event, version, "status = $6", event.to_status.value)
        elif isinstance(event, TicketPriorityChanged):
            await self._update(
                conn, event, version, "priority = $6, queue = $7", event.priority.value, event.queue
            )
        elif isinstance(event, TicketAssigned):
            await self._update(
                conn,
                event,
                version,
                "assignee_id = $6, assignee_name = $7, status = $8",
                event.assignee.user_id,
                event.assignee.name,
                event.status.value,
            )
        elif isinstance(event, TicketUnassigned):
            await conn.execute(
                "UPDATE tickets SET assignee_id = NULL, assignee_name = NULL, updated_at = $2,"
                " version = $3 WHERE ticket_id = $1",
                tid,
                event.at,
                version,
            )
        elif isinstance(event, TicketSlaWarning):
            await self._fired(conn, event, version, [f"{event.target.value}_warning"])
        elif isinstance(event, TicketSlaBreached):
            kinds = [f"{event.target.value}_warning", f"{event.target.value}_breach"]
            await self._fired(conn, event, version, kinds)
        elif isinstance(event, TicketEscalated):
            await self._fired(conn, event, version, ["escalation"])

    async def _update(
        self, conn: Connection, event: TicketEvent, version: int, sets: str, *args: object
    ) -> None:
        sla: SlaSchedule = event.sla  # type: ignore[attr-defined]
        await _with_deadlines(
            conn,
            sla,
            "UPDATE tickets SET first_response_due = $2, resolution_due = $3,"
            f" next_due = {_NEXT_DUE}, updated_at = $4, version = $5, {sets}"
            " WHERE ticket_id = $1",
            event.ticket_id,
            sla.first_response_due,
            sla.resolution_due,
            event.at,
            version,
            *args,
        )

    async def _fired(
        self, conn: Connection, event: TicketEvent, version: int, kinds: list[str]
    ) -> None:
        await conn.execute(
            "WITH fired AS (UPDATE sla_deadlines SET fired = true"
            " WHERE ticket_id = $1 AND kind = any($3::text[]))"
            " UPDATE tickets SET version = $2 WHERE ticket_id = $1",
            event.ticket_id,
            version,
            kinds,
        )


async def _with_deadlines(conn: Connection, sla: SlaSchedule, sql: str, *args: object) -> None:
    """`sql` (on the ticket `$1`) run together with the ticket's deadlines from `sla`:
    those no longer in it are deleted, the others set; a moved deadline keeps its
    `fired` flag (each fires once per ticket). Both in one statement, one round trip."""
    present = [(kind, getattr(sla, attr)) for kind, attr in DEADLINE_KINDS]
    present = [(kind, due) for kind, due in present if due is not None]
    kinds, dues = f"${len(args) + 1}::text[]", f"${len(args) + 2}::timestamptz[]"
    await conn.execute(
        "WITH gone AS (DELETE FROM sla_deadlines"
        f" WHERE ticket_id = $1 AND NOT (kind = any({kinds}))),"
        " kept AS (INSERT INTO sla_deadlines (ticket_id, kind, due_at)"
        f" SELECT $1, k, d FROM unnest({kinds}, {dues}) AS t(k, d)"
        " ON CONFLICT (ticket_id, kind) DO UPDATE SET due_at = excluded.due_at) " + sql,
        *args,
        [kind for kind, _ in present],
        [due for _, due in present],
    )


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

"""The ticket lists, from the `tickets` projection: a `TicketFilter` as SQL, and
the opaque cursor that pages through it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import asyncpg

from helpdesk.contracts.replies import BadCursor
from helpdesk.contracts.tickets import Person, TicketList, TicketSummary
from helpdesk.servicekit.db import Connection
from helpdesk.tickets.handlers.deps import TicketFilter
from helpdesk.tickets.handlers.views import SUMMARY_FIELDS


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


# No list pages this deep; anything beyond is not a cursor of ours (and an offset
# past PostgreSQL's bigint would fail in the query instead of being refused here).
MAX_OFFSET = 10_000_000


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor of ours stands for; `BadCursor` for anything else."""
    if not cursor:
        return 0
    if len(cursor) > 64:
        raise BadCursor()
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        offset = int(value)
    except ValueError:
        raise BadCursor() from None
    if kind != "o" or not 0 <= offset <= MAX_OFFSET:
        raise BadCursor()
    return offset


def filter_clauses(
    filters: TicketFilter, param: Callable[[Any], str], *, table: str = ""
) -> list[str]:
    """The WHERE clauses of a ticket list (live or as of an instant): the same
    columns in `tickets` and `ticket_history`; `param` binds a value, `table`
    qualifies the columns (`"t."`) in a query that joins another table."""
    where: list[str] = []
    if filters.requester_id is not None:
        where.append(f"{table}requester_id = {param(filters.requester_id)}")
    if filters.queue:
        where.append(f"{table}queue = {param(filters.queue)}")
    if filters.queues is not None:
        where.append(f"{table}queue = any({param(list(filters.queues))}::text[])")
    if filters.assignee_id:
        where.append(f"{table}assignee_id = {param(filters.assignee_id)}")
    if filters.unassigned:
        where.append(f"{table}assignee_id IS NULL")
    if filters.hide_closed:
        where.append(f"{table}status <> 'closed'")
    if filters.priority:
        where.append(f"{table}priority = {param(filters.priority.value)}")
    if filters.status:
        where.append(f"{table}status = {param(filters.status.value)}")
    return where


def order_of(filters: TicketFilter) -> str:
    if filters.soonest_due_first:
        return "next_due NULLS LAST, created_at, number"
    return "created_at DESC, number DESC"


async def ticket_list(
    conn: Connection, filters: TicketFilter, *, cursor: str | None, limit: int
) -> TicketList:
    offset = decode_cursor(cursor)
    where: list[str] = []
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where += filter_clauses(filters, param)
    order = order_of(filters)
    sql = (
        "SELECT * FROM tickets"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {order} LIMIT {param(limit + 1)} OFFSET {param(offset)}"
    )
    rows = await conn.fetch(sql, *args)
    items = [_summary_row(r) for r in rows[:limit]]
    next_cursor = encode_cursor(offset + limit) if len(rows) > limit else None
    return TicketList(items=items, next_cursor=next_cursor)


# The summary's fields that the `tickets` row holds under the same name.
_SUMMARY_COLUMNS = (*SUMMARY_FIELDS, "first_response_due", "resolution_due", "version")


def _summary_row(row: asyncpg.Record) -> TicketSummary:
    assignee = None
    if row["assignee_id"]:
        assignee = Person(user_id=row["assignee_id"], name=row["assignee_name"])
    return TicketSummary(
        **{column: row[column] for column in _SUMMARY_COLUMNS},
        requester=Person(user_id=row["requester_id"], name=row["requester_name"]),
        assignee=assignee,
    )

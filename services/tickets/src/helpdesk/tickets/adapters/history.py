"""The `ticket_history` projection (a row per ticket event, with SLA facts) and
what is read from it: the queue as of an instant, and the SLA report.

Fed in the command's transaction like the other read models and rebuilt from
the event store, so a report covers all history the day it ships.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from helpdesk.contracts.reports import AGE_BUCKETS, GroupBy, SlaReportRow
from helpdesk.contracts.tickets import TicketList, TicketSubmitted
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.servicekit.statements import Write
from helpdesk.tickets.adapters.contract_events import stored_event
from helpdesk.tickets.adapters.read_model import (
    _summary_row,
    decode_cursor,
    encode_cursor,
    filter_clauses,
    order_of,
)
from helpdesk.tickets.adapters.sla_facts import UNRESOLVED, Facts, first_facts, next_facts
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.handlers.deps import TicketFilter

_FIELDS = [f.name for f in dataclasses.fields(Facts)]
_INSERT = (
    f"INSERT INTO ticket_history ({', '.join(_FIELDS)})"
    f" VALUES ({', '.join(f'${i + 1}' for i in range(len(_FIELDS)))})"
    " ON CONFLICT (ticket_id, version) DO NOTHING"
)
_VALID_AT = "tstzrange(valid_from, valid_to, '[)') @> {at}::timestamptz"


class HistoryProjection:
    name = "ticket_history"
    tables: Sequence[str] = ("ticket_history",)

    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy

    def write(self, recorded: RecordedEvent) -> Write | None:
        """A submission's first row; any later event reads the row it closes (`apply`)."""
        event = stored_event(recorded.event_type, recorded.data)
        if not isinstance(event, TicketSubmitted):
            return None
        facts = first_facts(event, recorded.version, self.policy)
        return Write(_INSERT, tuple(getattr(facts, name) for name in _FIELDS))

    async def apply(self, conn: Connection, recorded: RecordedEvent) -> None:
        if (write := self.write(recorded)) is not None:
            await write.run(conn)
            return
        event = stored_event(recorded.event_type, recorded.data)
        if event is None:
            return
        row = await conn.fetchrow(
            "UPDATE ticket_history SET valid_to = $2 WHERE ticket_id = $1"
            " AND valid_to IS NULL AND version < $3 RETURNING *",
            event.ticket_id,
            event.at,
            recorded.version,
        )
        if row is None:
            return  # already applied (a replay on top), or no submission seen
        before = Facts(**{name: row[name] for name in _FIELDS})
        facts = next_facts(before, event, recorded.version, self.policy)
        await conn.execute(_INSERT, *(getattr(facts, name) for name in _FIELDS))


async def list_as_of(
    conn: Connection, filters: TicketFilter, as_of: datetime, *, cursor: str | None, limit: int
) -> TicketList:
    """The ticket list as it stood at `as_of` (same filters and order as the live one)."""
    offset = decode_cursor(cursor)
    args: list[Any] = [as_of]
    where = [_VALID_AT.format(at="$1")]

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where += filter_clauses(filters, param)  # the live list's filters, "my queues" too
    order = order_of(filters)
    rows = await conn.fetch(
        f"SELECT * FROM ticket_history WHERE {' AND '.join(where)}"
        f" ORDER BY {order} LIMIT {param(limit + 1)} OFFSET {param(offset)}",
        *args,
    )
    items = [_summary_row(r) for r in rows[:limit]]
    next_cursor = encode_cursor(offset + limit) if len(rows) > limit else None
    return TicketList(items=items, next_cursor=next_cursor)


# --- the SLA report ------------------------------------------------------------------------

_GROUP = {
    GroupBy.PRIORITY: "priority",
    GroupBy.QUEUE: "queue",
    GroupBy.AGENT: "coalesce(assignee_id::text, '')",
}

# $1 from, $2 to, $3 as_of. Tickets as they stood at as_of, opened or resolved in the period.
_OUTCOMES = """
SELECT {group} AS key, max(assignee_name) AS label,
  count(*) FILTER (WHERE opened) AS opened,
  count(*) FILTER (WHERE resolved) AS resolved,
  count(*) FILTER (WHERE opened AND first_response_minutes <= fr_target_minutes) AS fr_met,
  count(*) FILTER (WHERE opened AND (first_response_minutes > fr_target_minutes
      OR (first_response_at IS NULL AND (fr_breached_at IS NOT NULL
          OR first_response_due <= $3)))) AS fr_breached,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_minutes)
      FILTER (WHERE opened) AS fr_median,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_minutes)
      FILTER (WHERE opened) AS fr_p90,
  count(*) FILTER (WHERE resolved AND resolution_minutes <= res_target_minutes) AS res_met,
  count(*) FILTER (WHERE resolved AND resolution_minutes > res_target_minutes) AS res_breached,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_minutes)
      FILTER (WHERE resolved) AS res_median,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_minutes)
      FILTER (WHERE resolved) AS res_p90
FROM (
  SELECT *, created_at >= $1 AND created_at < $2 AS opened,
         resolved_at >= $1 AND resolved_at < $2 AS resolved
  FROM ticket_history
  WHERE {valid} AND ((created_at >= $1 AND created_at < $2)
                     OR (resolved_at >= $1 AND resolved_at < $2))
) AS t
GROUP BY ROLLUP ({group})
"""

# $1 the instant; $2.. the bucket edges in days.
_BACKLOG = """
SELECT {group} AS key, max(assignee_name) AS label, count(*) AS backlog, {buckets}
FROM ticket_history
WHERE {valid} AND status IN {unresolved}
GROUP BY ROLLUP ({group})
"""

# $1 from, $2 to (already no later than as_of).
_ALARMS = """
SELECT {group} AS key, max(assignee_name) AS label,
  count(*) FILTER (WHERE event_type = 'TicketSlaBreached' AND target = 'first_response') AS frb,
  count(*) FILTER (WHERE event_type = 'TicketSlaBreached' AND target = 'resolution') AS rb,
  count(*) FILTER (WHERE event_type = 'TicketEscalated') AS esc
FROM ticket_history
WHERE event_type IN ('TicketSlaBreached', 'TicketEscalated')
  AND valid_from >= $1 AND valid_from < $2
GROUP BY ROLLUP ({group})
"""


# $1 from, $2 to (already no later than as_of).
_RATINGS = """
SELECT {group} AS key, max(assignee_name) AS label,
  count(*) AS ratings, avg(rating) AS average
FROM ticket_history
WHERE event_type = 'TicketRated' AND valid_from >= $1 AND valid_from < $2
GROUP BY ROLLUP ({group})
"""


def _pct(met: int, breached: int) -> float | None:
    return round(100.0 * met / (met + breached), 1) if met + breached else None


def _minutes(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


async def sla_report(
    conn: Connection, *, start: datetime, end: datetime, as_of: datetime, group_by: GroupBy
) -> tuple[list[SlaReportRow], SlaReportRow]:
    """Rows per group (sorted by key) and the total, from the history at `as_of`."""
    group = _GROUP[group_by]
    rows: dict[str | None, SlaReportRow] = {}

    def row(record: asyncpg.Record) -> SlaReportRow:
        key = record["key"]
        found = rows.setdefault(key, SlaReportRow(group=key if key is not None else "*"))
        if record["label"] and group_by is GroupBy.AGENT and key is not None:
            found.label = record["label"]
        return found

    for r in await conn.fetch(
        _OUTCOMES.format(group=group, valid=_VALID_AT.format(at="$3")), start, end, as_of
    ):
        out = row(r)
        out.opened, out.resolved = r["opened"], r["resolved"]
        out.first_response_met, out.first_response_breached = r["fr_met"], r["fr_breached"]
        out.first_response_met_pct = _pct(r["fr_met"], r["fr_breached"])
        out.first_response_median_minutes = _minutes(r["fr_median"])
        out.first_response_p90_minutes = _minutes(r["fr_p90"])
        out.resolution_met, out.resolution_breached = r["res_met"], r["res_breached"]
        out.resolution_met_pct = _pct(r["res_met"], r["res_breached"])
        out.resolution_median_minutes = _minutes(r["res_median"])
        out.resolution_p90_minutes = _minutes(r["res_p90"])

    backlog_at = min(end, as_of)
    buckets, lower = [], 0.0
    for name, upper in AGE_BUCKETS:
        age = "($1::timestamptz - created_at)"
        cond = f"{age} >= interval '{lower} days'"
        if upper != float("inf"):
            cond += f" AND {age} < interval '{upper} days'"
        buckets.append(f'count(*) FILTER (WHERE {cond}) AS "{name}"')
        lower = upper
    sql = _BACKLOG.format(
        group=group,
        buckets=", ".join(buckets),
        valid=_VALID_AT.format(at="$1"),
        unresolved=str(UNRESOLVED),
    )
    for r in await conn.fetch(sql, backlog_at):
        out = row(r)
        out.backlog = r["backlog"]
        out.backlog_by_age = {name: r[name] for name, _ in AGE_BUCKETS}

    alarms_end = min(end, as_of + timedelta(microseconds=1))
    for r in await conn.fetch(_ALARMS.format(group=group), start, alarms_end):
        out = row(r)
        out.first_response_breaches, out.resolution_breaches = r["frb"], r["rb"]
        out.escalations = r["esc"]
    for r in await conn.fetch(_RATINGS.format(group=group), start, alarms_end):
        out = row(r)
        out.ratings = r["ratings"]
        out.rating_average = round(float(r["average"]), 2) if r["average"] is not None else None

    total = rows.pop(None, None) or SlaReportRow(group="*")
    for out in rows.values():
        out.backlog_by_age = out.backlog_by_age or {name: 0 for name, _ in AGE_BUCKETS}
    total.backlog_by_age = total.backlog_by_age or {name: 0 for name, _ in AGE_BUCKETS}
    return [rows[k] for k in sorted(rows, key=str)], total

"""Operating the search and history projections: building them from the
event store the first time a version that has them starts, and the
Prometheus gauges of the current backlog and overdue tickets."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from prometheus_client import Gauge

from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import every, repeat
from helpdesk.servicekit.projections import Projection, rebuild

log = get_logger(__name__)

BACKLOG = Gauge(
    "helpdesk_tickets_backlog",
    "Unresolved tickets (submitted, open, pending) now",
    ["priority", "queue", "status"],
)
OVERDUE = Gauge(
    "helpdesk_tickets_sla_overdue",
    "Unresolved tickets whose running SLA target is past due now",
    ["priority", "queue", "target"],
)
GAUGE_INTERVAL = 15.0

_MARKERS = """
CREATE TABLE IF NOT EXISTS projection_backfills (
    name text PRIMARY KEY, built_at timestamptz NOT NULL DEFAULT now())
"""


async def build_new_projections(pool: asyncpg.Pool, projections: Sequence[Projection]) -> None:
    """Replay the store into each projection never built here before, once: a new
    read model covers all past history the day it ships. Replicas starting
    together wait on the lock; the first one builds. Runs in the background:
    `rebuild` locks the projection's tables, so a command meanwhile waits and
    then applies its event on top of the rebuilt rows."""
    try:
        await _build_new(pool, projections)
    except Exception:
        # Not fatal: search and reports stay incomplete until the next start or a
        # `helpdesk rebuild-projections tickets`.
        log.exception("building the new projections failed")


async def _build_new(pool: asyncpg.Pool, projections: Sequence[Projection]) -> None:
    async with pool.acquire() as conn:
        await conn.execute(_MARKERS)
        await conn.execute("SELECT pg_advisory_lock(hashtext('tickets:projection-backfill'))")
        try:
            built = {r["name"] for r in await conn.fetch("SELECT name FROM projection_backfills")}
            for projection in projections:
                if projection.name in built:
                    continue
                events = await rebuild(pool, projection)
                await conn.execute(
                    "INSERT INTO projection_backfills (name) VALUES ($1) ON CONFLICT DO NOTHING",
                    projection.name,
                )
                log.info("projection built from history", projection=projection.name, events=events)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('tickets:projection-backfill'))")


async def refresh_gauges(pool: asyncpg.Pool, clock: Clock) -> None:
    """One index-only scan of the unresolved tickets (`tickets_backlog`)."""
    rows = await pool.fetch(
        "SELECT priority, queue, status, count(*) AS n,"
        " count(*) FILTER (WHERE first_response_due <= $1) AS first_response,"
        " count(*) FILTER (WHERE resolution_due <= $1) AS resolution"
        " FROM tickets WHERE status IN ('submitted', 'open', 'pending') GROUP BY 1, 2, 3",
        clock.now(),
    )
    overdue: dict[tuple[str, str, str], int] = {}
    for r in rows:
        for target in ("first_response", "resolution"):
            key = (r["priority"], r["queue"], target)
            overdue[key] = overdue.get(key, 0) + r[target]
    BACKLOG.clear()
    for r in rows:
        BACKLOG.labels(r["priority"], r["queue"], r["status"]).set(r["n"])
    OVERDUE.clear()
    for (priority, queue, target), n in overdue.items():
        OVERDUE.labels(priority, queue, target).set(n)


async def run_gauges(pool: asyncpg.Pool, clock: Clock, interval: float = GAUGE_INTERVAL) -> None:
    await repeat(
        lambda: refresh_gauges(pool, clock),
        pause=every(interval),
        failed="backlog gauges not refreshed",
    )

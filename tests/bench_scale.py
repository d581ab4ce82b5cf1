"""`make bench-scale`: the request paths on an empty tickets store and again on
one holding ≥ 1,000,000 events (≥ 200,000 tickets with messages and SLA events),
in the same run, on the same servers. Not part of `make test`.

Measured twice (empty, then seeded): submit → 201 p99 at 50/s, tickets/s at
saturation, the agent queue's first page p99, a ticket's detail p99 and the SLA
monitor's sweep. Once, on the seeded store: the projection rebuild in events/s
against a raw `SELECT` of the events table. The seeding path is tests/bench_seed.py.

`python -m tests.bench_scale [report-path] ` (default var/bench/scale.md);
BENCH_SCALE_TICKETS=20000 for a quick run.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from helpdesk.contracts.actors import Role
from helpdesk.servicekit.clock import SystemClock
from helpdesk.servicekit.db import create_pool, init_connection
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.servicekit.projections import rebuild
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.adapters.projections import TicketsProjection
from helpdesk.tickets.adapters.unit_of_work import PostgresUnitOfWork
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.sla import SlaMonitor
from tests import bench_seed, operator
from tests.bench import (
    TICKET_RATE,
    WARM_UP,
    LoadClient,
    machine,
    paced,
    pct,
    saturate,
    steady,
    write_report,
)
from tests.e2e.harness import System, start_system
from tests.servers import test_servers

TICKETS = int(os.environ.get("BENCH_SCALE_TICKETS", "215000"))
PASSWORD = "correct horse battery staple"
SECONDS = 20  # counted seconds of each paced run, after WARM_UP (1,000 samples at 50/s)


async def create_user(system: System, username: str, role: Role) -> None:
    await operator.create_user(system.servers, username, role=role, password=PASSWORD)


async def token(client: LoadClient, username: str) -> dict[str, str]:
    _, login = await client.post("/api/v1/sessions", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {login['access_token']}"}


def timed_get(
    client: LoadClient, paths: Callable[[], str], headers: dict[str, str]
) -> Callable[[], Awaitable[tuple[int, float, float, str]]]:
    async def get() -> tuple[int, float, float, str]:
        sent = time.time()
        async with client.session.get(client.base_url + paths(), headers=headers) as r:
            await r.read()
            status = 201 if r.status == 200 else r.status  # `paced` counts 201s
        return status, sent, time.time(), ""

    return get


def latency_ms(results: list[tuple[float, float, str]], q: float = 0.99) -> float:
    return pct([(a - s) * 1000 for s, a, _ in steady(results)], q)


async def measure(system: System, client: LoadClient, users: dict[str, Any]) -> dict[str, float]:
    body = {"subject": "Printer", "description": "It jams.", "priority": "normal"}
    customer, agent = users["customer"], users["agent"]
    figures: dict[str, float] = {}
    submit = client.timed("/api/v1/tickets", body, customer)
    results = await paced(submit, seconds=WARM_UP + SECONDS)
    figures["submit_p50"] = latency_ms(results, 0.5)
    figures["submit_p99"] = latency_ms(results)
    async with client.session.get(
        client.base_url + "/api/v1/tickets?limit=200", headers=agent
    ) as r:
        ids = [item["ticket_id"] for item in (await r.json())["items"]]
    queue = timed_get(client, lambda: "/api/v1/tickets", agent)
    figures["queue_p99"] = latency_ms(await paced(queue, seconds=WARM_UP + SECONDS))
    detail = timed_get(client, lambda: f"/api/v1/tickets/{random.choice(ids)}", agent)
    figures["detail_p99"] = latency_ms(await paced(detail, seconds=WARM_UP + SECONDS))
    figures["sweep_ms"] = await sla_sweep(system)
    figures["saturation"] = await saturate(client.status_only("/api/v1/tickets", body, customer))
    return figures


async def tickets_pool(system: System) -> asyncpg.Pool:
    return await create_pool(system.env["HELPDESK_DATABASE_URL"], "tickets", min_size=1, max_size=2)


async def sla_sweep(system: System) -> float:
    """An SLA monitor pass with nothing due (what every replica runs every few
    seconds): deadlines that came due meanwhile are fired first; median of 21."""
    pool = await tickets_pool(system)
    deps = Deps(
        uow=PostgresUnitOfWork.factory(pool, EventStore(), [TicketsProjection()]),
        policy=load_policy(),
        clock=SystemClock(),
    )
    monitor = SlaMonitor(deps)
    for _ in range(20):
        if await monitor.run_once() == 0:
            break
    took = []
    for _ in range(21):
        start = time.perf_counter()
        await monitor.run_once()
        took.append((time.perf_counter() - start) * 1000)
    await pool.close()
    return sorted(took)[10]


async def seed(system: System) -> dict[str, float]:
    """≥ 1M events through the bulk path, then the projections by rebuild (timed)."""
    figures: dict[str, float] = {}
    conn = await asyncpg.connect(system.env["HELPDESK_DATABASE_URL"])
    await init_connection(conn)
    await conn.execute("SET search_path = tickets")
    now = datetime.now(UTC)
    numbers = await bench_seed.numbers_taken(conn, range(now.year - 2, now.year + 2))
    start = time.perf_counter()
    events = 0
    for rows in bench_seed.histories(TICKETS, load_policy(), now, numbers):
        await bench_seed.write_events(conn, rows)
        await bench_seed.write_inbox(conn, rows)
        events += len(rows)
    await bench_seed.move_sequences(conn, numbers)
    figures["seed_s"] = time.perf_counter() - start
    figures["events"] = events
    await conn.execute("VACUUM ANALYZE events")
    await conn.execute("VACUUM ANALYZE notifier.inbox")

    raw_start = time.perf_counter()
    position, read = 0, 0
    while True:  # the rows a rebuild reads, as raw asyncpg reads them
        rows = await conn.fetch(
            "SELECT position, stream_id, version, event_id, event_type, schema_version, data,"
            " metadata, recorded_at FROM events WHERE position > $1 ORDER BY position LIMIT 1000",
            position,
        )
        read += len(rows)
        if len(rows) < 1000:
            break
        position = rows[-1]["position"]
    figures["raw_per_s"] = read / (time.perf_counter() - raw_start)
    await conn.close()

    pool = await tickets_pool(system)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rebuilt = await rebuild(pool, TicketsProjection())
    figures["rebuild_per_s"] = rebuilt / (time.perf_counter() - start)
    # The rows a rebuild folds in memory: this process's peak grew by about that.
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures["rebuild_mib"] = (rss_after - rss_before) / 1024
    await pool.execute("VACUUM ANALYZE tickets, sla_deadlines")
    figures["tickets"] = await pool.fetchval("SELECT count(*) FROM tickets")
    await pool.close()
    return figures


async def settle(system: System) -> None:
    """Let PostgreSQL finish what the seeding burst left behind (flushing a
    million rows' dirty pages, autovacuum of the tables it filled) before the
    request paths are timed again: that work is the seeding's, not a cost of
    a store that grew over months. Also lets the saturation's mails drain."""
    conn = await asyncpg.connect(system.env["HELPDESK_DATABASE_URL"])
    try:
        await conn.execute("CHECKPOINT")
        for _ in range(300):
            workers = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            )
            if workers == 0:
                break
            await asyncio.sleep(1)
    finally:
        await conn.close()
    await asyncio.sleep(5)


async def run() -> str:
    with tempfile.TemporaryDirectory() as tmp, test_servers(Path(tmp)) as servers:
        system = await start_system(Path(tmp), servers, mail_process=True)
        client = LoadClient(system.url)
        try:
            tag = uuid.uuid4().hex[:6]
            await create_user(system, f"cust{tag}", Role.CUSTOMER)
            await create_user(system, f"agent{tag}", Role.AGENT)
            users = {
                "customer": await token(client, f"cust{tag}"),
                "agent": await token(client, f"agent{tag}"),
            }
            body = {"subject": "First", "description": "x", "priority": "normal"}
            for _ in range(100):  # until identity's events reached the tickets service
                if (await client.post("/api/v1/tickets", body, users["customer"]))[0] == 201:
                    break
                await asyncio.sleep(0.1)
            empty = await measure(system, client, users)
            seeded = await seed(system)
            await settle(system)
            full = await measure(system, client, users)
        finally:
            await client.close()
            await asyncio.to_thread(system.stop)
    return report(empty, full, seeded)


def report(empty: dict[str, float], full: dict[str, float], seeded: dict[str, float]) -> str:
    def row(name: str, key: str, unit: str, higher_is_better: bool = False) -> str:
        a, b = empty[key], full[key]
        ratio = b / a if a else float("inf")
        within = ratio >= 0.8 if higher_is_better else ratio <= 1.2
        return (
            f"| {name} | {a:,.1f} {unit} | {b:,.1f} {unit} | {ratio:.2f}× |"
            f" within 20% — {'met' if within else 'NOT met'} |"
        )

    sweep = (
        f"| SLA monitor sweep, one idle pass (median of 21) | {empty['sweep_ms']:.2f} ms"
        f" | {full['sweep_ms']:.2f} ms | | reported: not a request path |"
    )
    rebuild_ratio = seeded["rebuild_per_s"] / seeded["raw_per_s"]
    rebuild_met = "met" if rebuild_ratio >= 0.3 else "NOT met"
    rates = f"{seeded['rebuild_per_s']:,.0f} | {seeded['raw_per_s']:,.0f}"
    return f"""# Scale: empty store vs {seeded["events"]:,.0f} events

Measured by `make bench-scale` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on {machine()}.
Seeded {seeded["tickets"]:,.0f} tickets / {seeded["events"]:,.0f} events (+ as many notifier
inbox rows) in {seeded["seed_s"]:,.0f} s through tests/bench_seed.py.

| measure | empty store | seeded store | ratio | target |
| --- | ---: | ---: | ---: | --- |
{row(f"`POST /api/v1/tickets` → 201 p50 at {TICKET_RATE}/s", "submit_p50", "ms")}
{row(f"`POST /api/v1/tickets` → 201 p99 at {TICKET_RATE}/s", "submit_p99", "ms")}
{row("tickets accepted/s at saturation", "saturation", "/s", higher_is_better=True)}
{row(f"agent queue, first page, p99 at {TICKET_RATE}/s", "queue_p99", "ms")}
{row(f"ticket detail p99 at {TICKET_RATE}/s", "detail_p99", "ms")}
{sweep}

| projection rebuild | events/s | raw `SELECT` of events, rows/s | ratio | target |
| --- | ---: | ---: | ---: | --- |
| tickets + sla_deadlines | {rates} | {rebuild_ratio:.2f}× | ≥ 0.3× — {rebuild_met} |

The rebuild held its rows in memory: this process's peak memory grew by
{seeded["rebuild_mib"]:,.0f} MiB for {seeded["tickets"]:,.0f} tickets.
"""


def main() -> None:
    argv = sys.argv if len(sys.argv) > 1 else [sys.argv[0], "var/bench/scale.md"]
    write_report(asyncio.run(run()), argv)


if __name__ == "__main__":
    main()

"""`make bench`: the platform's throughput and latency beside baselines measured
in the same run, on the same servers. Prints the table and writes
it under var/ (never a tracked file). Not part of `make test` (figures, not assertions).

(a) event-store appends/s, concurrent writers  vs  raw asyncpg one-row INSERT transactions
(b) relay events/s, commit -> JetStream ack    vs  raw nats-py JetStream publish_async
(c) commit -> publish lag p50/p99 at 500 events/s (relay woken by LISTEN/NOTIFY)
(d) tickets/s through the gateway at saturation, and submit -> 201 / submit -> mail
    latency at 50 tickets/s    vs  a minimal FastAPI endpoint on the same machine
(e) mails made tickets/s (SMTP intake -> ticket stored) at saturation, and its
    latency at 20 mails/s      vs  the portal submit path of (d) (tests/bench_mail.py)
(f)/(g) sealing personal data: appends/s and the submit handler's p99, sealed vs
    nothing sealed (tests/bench_privacy.py)

The report goes to var/bench/performance.md, or to the path given as the first
argument; docs/performance.md is updated by hand from such a run.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import nats
from nats.js.api import StreamConfig

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.devstack.servers import free_port, wait_for_port
from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from helpdesk.servicekit.eventstore import EventStore, NewEvent
from helpdesk.servicekit.outbox import OutgoingMessage, add_to_outbox
from helpdesk.servicekit.relay import OutboxRelay
from tests import operator
from tests.bench_attachments import bench_attachments, section
from tests.bench_mail import bench_mail, report_rows
from tests.bench_privacy import bench_privacy, privacy_section
from tests.bench_search import bench_search
from tests.e2e.harness import start_system
from tests.integration.test_outbox_relay import Pinged
from tests.servers import Servers, test_servers

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 8
APPENDS = 4000
RELAY_EVENTS = 20000
LAG_RATE, LAG_SECONDS = 500, 10
TICKET_CLIENTS, SATURATION_SECONDS, SATURATION_ROUNDS = 16, 8.0, 3
TICKET_RATE, TICKET_SECONDS = 50, 10
WARM_UP = 3  # seconds at the rate before requests count: pools, caches, connections


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def migrated_pool(url: str) -> tuple[str, asyncpg.Pool]:
    from importlib.resources import files

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(url, schema, min_size=WRITERS, max_size=WRITERS + 2)
    await apply_migrations(pool, schema, migration_files(files(KIT_MIGRATIONS)))
    return schema, pool


async def concurrently(total: int, work: Callable[[int], Awaitable[None]]) -> float:
    """Run `work(i)` for i < total on WRITERS tasks; returns operations per second."""
    counter = iter(range(total))

    async def writer() -> None:
        for i in counter:
            await work(i)

    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return total / (time.perf_counter() - start)


async def bench_appends(url: str) -> tuple[float, float]:
    _, pool = await migrated_pool(url)
    await pool.execute(
        "CREATE TABLE raw_events (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " stream_id text, version int, event_id uuid, event_type text, schema_version int,"
        " data jsonb, metadata jsonb)"
    )
    store = EventStore()

    async def append(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, f"s-{i}", 0, [NewEvent("Benchmarked", {"n": i})])

    async def raw_insert(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO raw_events (stream_id, version, event_id, event_type,"
                " schema_version, data, metadata) VALUES ($1, 1, $2, 'Benchmarked', 1, $3, $4)",
                f"s-{i}",
                uuid.uuid4(),
                {"n": i},
                {},
            )

    await concurrently(200, raw_insert)  # warm up connections and plans
    raw = await concurrently(APPENDS, raw_insert)
    ours = await concurrently(APPENDS, append)
    await pool.close()
    return ours, raw


async def bench_relay(servers: Servers) -> tuple[float, float]:
    db_url = servers.database_url
    schema, pool = await migrated_pool(db_url)
    nc = await nats.connect(servers.nats_url, **servers.nats_options())
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=schema.upper(), subjects=[f"{schema}.>"]))
    messages = [
        OutgoingMessage(
            EventEnvelope.wrap(Pinged(n=i), correlation_id="bench"), f"{schema}.events.ping"
        )
        for i in range(RELAY_EVENTS)
    ]
    payloads = [m.envelope.model_dump_json().encode() for m in messages]

    start = time.perf_counter()
    futures = [
        await js.publish_async(f"{schema}.raw", p, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        for p in payloads
    ]
    await asyncio.gather(*futures)
    raw = RELAY_EVENTS / (time.perf_counter() - start)

    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, messages)
    relay = OutboxRelay(db_url, schema, js)
    start = time.perf_counter()
    async with pool.acquire() as conn:
        while await relay.publish_pending(conn):
            pass
    ours = RELAY_EVENTS / (time.perf_counter() - start)
    await nc.close()
    await pool.close()
    return ours, raw


async def bench_lag(servers: Servers) -> tuple[float, float, int]:
    db_url = servers.database_url
    schema, pool = await migrated_pool(db_url)
    nc = await nats.connect(servers.nats_url, **servers.nats_options())
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=schema.upper(), subjects=[f"{schema}.>"]))
    committed: dict[str, float] = {}
    arrived: dict[str, float] = {}
    total = LAG_RATE * LAG_SECONDS
    done = asyncio.Event()

    async def received(msg: Any) -> None:
        arrived[msg.headers["Nats-Msg-Id"]] = time.perf_counter()
        if len(arrived) >= total:
            done.set()

    await js.subscribe(f"{schema}.>", cb=received, ordered_consumer=True, pending_msgs_limit=-1)
    relay = OutboxRelay(db_url, schema, js, poll_interval=1.0)
    relay_task = asyncio.create_task(relay.run())
    while not relay.is_leader:
        await asyncio.sleep(0.01)

    start = time.perf_counter()
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / LAG_RATE - time.perf_counter()))
        message = OutgoingMessage(
            EventEnvelope.wrap(Pinged(n=i), correlation_id="bench"), f"{schema}.events.ping"
        )
        async with pool.acquire() as conn, conn.transaction():
            await add_to_outbox(conn, [message])
        committed[str(message.envelope.event_id)] = time.perf_counter()
    try:
        await asyncio.wait_for(done.wait(), 30)
    except TimeoutError:
        print(f"lag: only {len(arrived)} of {total} events arrived", file=sys.stderr)
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    await nc.close()
    await pool.close()
    lags = [arrived[e] - committed[e] for e in arrived]
    return pct(lags, 0.5) * 1000, pct(lags, 0.99) * 1000, len(lags)


BASELINE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.post("/api/v1/tickets", status_code=201)
async def submit(body: dict) -> dict:
    return {"ticket_id": "00000000-0000-0000-0000-000000000000", "status": "open"}
"""


async def saturate(post: Callable[[], Awaitable[int]]) -> float:
    """Accepted requests/s with TICKET_CLIENTS clients: the median of
    SATURATION_ROUNDS rounds (one round on this VM swings by ±15 %)."""
    rounds = [await _saturate_once(post) for _ in range(SATURATION_ROUNDS)]
    return statistics.median(rounds)


async def _saturate_once(post: Callable[[], Awaitable[int]]) -> float:
    deadline = time.perf_counter() + SATURATION_SECONDS
    accepted = 0

    async def worker() -> None:
        nonlocal accepted
        while time.perf_counter() < deadline:
            if await post() == 201:
                accepted += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(TICKET_CLIENTS)))
    return accepted / (time.perf_counter() - start)


async def paced(
    post: Callable[[], Awaitable[tuple[int, float, float, str]]],
    seconds: int = TICKET_SECONDS,
) -> list[tuple[float, float, str]]:
    """(sent, answered, ticket number) for TICKET_RATE posts/s over `seconds`."""
    results: list[tuple[float, float, str]] = []
    start = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i / TICKET_RATE - time.perf_counter()))
        status, sent, answered, number = await post()
        if status == 201:
            results.append((sent, answered, number))

    await asyncio.gather(*(one(i) for i in range(TICKET_RATE * seconds)))
    return results


def steady(results: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The requests of a paced run sent after its first WARM_UP seconds."""
    if not results:
        return results
    counted_from = min(sent for sent, _, _ in results) + WARM_UP
    return [r for r in results if r[0] >= counted_from]


class LoadClient:
    """The load generator's HTTP client: aiohttp, whose per-request CPU is a
    fraction of httpx's, so the client takes less of the cores it shares with
    the system under test. The baseline is measured with the same client."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=TICKET_CLIENTS * 2),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.base_url + path, json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    def timed(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Callable[[], Awaitable[tuple[int, float, float, str]]]:
        async def post() -> tuple[int, float, float, str]:
            sent = time.time()
            status, answer = await self.post(path, body, headers)
            number = str(answer.get("number", "")) if status == 201 else ""
            return status, sent, time.time(), number

        return post

    def status_only(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Callable[[], Awaitable[int]]:
        async def post() -> int:
            return (await self.post(path, body, headers))[0]

        return post

    async def close(self) -> None:
        await self.session.close()


async def bench_tickets(workdir: Path, servers: Servers) -> dict[str, float]:
    system = await start_system(workdir, servers, mail_process=True)
    figures: dict[str, float] = {}
    body = {"subject": "Printer", "description": "It jams.", "priority": "normal"}
    try:
        username, password = f"bench{uuid.uuid4().hex[:6]}", "correct horse battery staple"
        await operator.create_user(
            servers, username, name="Bench", password=password, nats_url=system.nats.url
        )
        client = LoadClient(system.url)
        try:
            _, login = await client.post(
                "/api/v1/sessions", {"username": username, "password": password}
            )
            headers = {"Authorization": f"Bearer {login['access_token']}"}
            for _ in range(100):  # until identity's events reached the tickets service
                if (await client.post("/api/v1/tickets", body, headers))[0] == 201:
                    break
                await asyncio.sleep(0.1)
            submit = client.timed("/api/v1/tickets", body, headers)
            seen_before = {p.name for p in system.mail.directory.glob("*.eml")}
            results = steady(await paced(submit, seconds=WARM_UP + TICKET_SECONDS))
            submit_ms = [(answered - sent) * 1000 for sent, answered, _ in results]
            figures["submit_p50_ms"] = pct(submit_ms, 0.5)
            figures["submit_p99_ms"] = pct(submit_ms, 0.99)
            figures["tickets_paced"] = len(results)
            mail_ms = await mail_latencies(system, seen_before, results)
            figures["mail_p50_ms"], figures["mail_p99_ms"] = pct(mail_ms, 0.5), pct(mail_ms, 0.99)
            figures["mails_seen"] = len(mail_ms)
            # Saturation last, so its backlog of mails cannot slow the paced run.
            figures["tickets_per_s"] = await saturate(
                client.status_only("/api/v1/tickets", body, headers)
            )
        finally:
            await client.close()
    finally:
        await asyncio.to_thread(system.stop)

    port = free_port()
    app_file = workdir / "baseline_app.py"
    app_file.write_text(BASELINE_APP)
    baseline = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "baseline_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=workdir,
    )
    try:
        wait_for_port(port)
        client = LoadClient(f"http://127.0.0.1:{port}")
        try:
            figures["baseline_per_s"] = await saturate(client.status_only("/api/v1/tickets", body))
            timed = client.timed("/api/v1/tickets", body)
            base = [
                (a - s) * 1000
                for s, a, _ in steady(await paced(timed, seconds=WARM_UP + TICKET_SECONDS))
            ]
            figures["baseline_p50_ms"], figures["baseline_p99_ms"] = pct(base, 0.5), pct(base, 0.99)
        finally:
            await client.close()
    finally:
        baseline.terminate()
        baseline.wait()
    return figures


async def mail_latencies(
    system: Any, seen_before: set[str], results: list[tuple[float, float, str]]
) -> list[float]:
    """Submit → confirmation mail in the sink, matched by ticket number."""
    sent_at = {number: sent for sent, _, number in results}
    mail_ms: dict[str, float] = {}
    deadline = time.time() + 60
    while len(mail_ms) < len(sent_at) and time.time() < deadline:
        for path in system.mail.directory.glob("*.eml"):
            if path.name in seen_before:
                continue
            match = re.search(rb"HD-\d{4}-\d{6}", path.read_bytes()[:4000])
            number = match.group().decode() if match else ""
            if number in sent_at and number not in mail_ms:
                received = int(path.name.split("-")[0]) / 1e9  # the sink's arrival time
                mail_ms[number] = (received - sent_at[number]) * 1000
        await asyncio.sleep(0.2)
    return list(mail_ms.values())


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


async def run() -> str:
    with tempfile.TemporaryDirectory() as tmp, test_servers(Path(tmp)) as servers:
        # The whole system first, on a fresh server: the sub-benchmarks below
        # leave tables for autovacuum to work on, which would stall it.
        t = await bench_tickets(Path(tmp), servers)
        m = await bench_mail(Path(tmp), servers)
        appends, raw_inserts = await bench_appends(servers.database_url)
        privacy = await bench_privacy(servers)
        relayed, raw_published = await bench_relay(servers)
        lag50, lag99, lag_n = await bench_lag(servers)
        search_section = await bench_search(servers.database_url)
        attachments = await bench_attachments(Path(tmp), servers)
    ok = lambda cond: "met" if cond else "NOT met"  # noqa: E731
    return f"""# Performance

Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on {machine()};
NATS {servers.source}, PostgreSQL 16 (pgserver) on the same machine. Each comparison's
baseline ran in the same run, against the same servers.

| measure | helpdesk | baseline | ratio | target |
| --- | ---: | ---: | ---: | --- |
| (a) event-store appends/s, {WRITERS} concurrent writers, one event per transaction | {appends:,.0f} | {raw_inserts:,.0f} raw asyncpg INSERT transactions/s | {appends / raw_inserts:.2f}× | ≥ 0.5× — {ok(appends / raw_inserts >= 0.5)} |
| (b) relay events/s, committed outbox → JetStream ack ({RELAY_EVENTS} events) | {relayed:,.0f} | {raw_published:,.0f} raw nats-py publish_async/s | {relayed / raw_published:.2f}× | ≥ 0.5× — {ok(relayed / raw_published >= 0.5)} |
| (c) commit → JetStream lag at {LAG_RATE} events/s ({lag_n} events) | p50 {lag50:.1f} ms, p99 {lag99:.1f} ms | | | p99 < 50 ms — {ok(lag99 < 50)} |
| (d) tickets accepted/s through the gateway, {TICKET_CLIENTS} clients at saturation (median of {SATURATION_ROUNDS} × {SATURATION_SECONDS:.0f} s) | {t["tickets_per_s"]:,.0f} | {t["baseline_per_s"]:,.0f} minimal FastAPI POST/s | {t["tickets_per_s"] / t["baseline_per_s"]:.3f}× | ≥ 0.05× — {"met" if t["tickets_per_s"] / t["baseline_per_s"] >= 0.05 else "**not met**"} |
| (d) `POST /api/v1/tickets` → 201 at {TICKET_RATE} tickets/s ({t["tickets_paced"]:.0f} tickets) | p50 {t["submit_p50_ms"]:.1f} ms, p99 {t["submit_p99_ms"]:.1f} ms | p50 {t["baseline_p50_ms"]:.1f} ms, p99 {t["baseline_p99_ms"]:.1f} ms | | p99 < 50 ms — {ok(t["submit_p99_ms"] < 50)} |
| (d) `POST /api/v1/tickets` → confirmation mail in the sink at {TICKET_RATE}/s ({t["mails_seen"]:.0f} mails) | p50 {t["mail_p50_ms"]:.0f} ms, p99 {t["mail_p99_ms"]:.0f} ms | | | p99 < 500 ms — {ok(t["mail_p99_ms"] < 500)} |
{report_rows(m, t)}
What the figures include:
- (a) each append is its own transaction: the version check and insert are one
  statement (`INSERT … SELECT … WHERE max(version) = expected`), so the cost over a
  raw INSERT is the unique-key and version lookups.
- (b) the relay reads committed rows below `pg_snapshot_xmin`, publishes them with
  `publish_async` in position order, awaits every ack, then marks the batch published.
- (c) one outbox row per transaction, paced; the relay is woken by the outbox
  trigger's NOTIFY. Lag is measured from the producer's commit returning to the
  message arriving at a JetStream subscriber.
- (d) the whole system as processes (gateway → NATS → tickets → PostgreSQL →
  outbox → JetStream → notifier → SMTP sink), with the load generator (aiohttp)
  and the SMTP sink (its own process) on the same cores. Tickets/s at
  saturation is bounded by CPU: every process of the system and the client
  share the machine. Each latency run is one steady run at the rate; its first 3 s
  (pools, caches, first connections) are not counted; the run does not pause
  after them, because on this VM the first requests after an idle second are
  slower (a few of them would be the p99 of a short run).
- (e) the whole system again (its own database) with the mailgate: one SMTP
  session per mail to its listener, the mail kept in PostgreSQL before the 250,
  then the worker, `tickets.mail.submit` and the ticket's transaction; "stored"
  is when the mailgate recorded the ticket, after the tickets commit.
- (d) runs first, on the fresh servers: the sub-benchmarks (a)–(c) leave
  tables that autovacuum then works on, and run before (d) they stalled it
  (p99 of 57–266 ms in such runs, against 21–44 ms in three runs in this order).
- the saturation baseline is a no-op endpoint: the ratio is the cost of the
  real work per ticket (gateway, identity-checked command, a PostgreSQL
  transaction with the event store, projections and outbox, two JetStream
  hops, a rendered mail over SMTP) on the same two shared cores.

Where the time goes (py-spy profiles taken while tuning, 50 tickets/s):
- notifier: the Python `email` package dominated a mail's CPU; mails are now
  built with `email.mime` (compat32) and flattened once, sent on reused SMTP
  sessions by 8 concurrent workers.
- gateway: FastAPI routing and dependency solving, the EdDSA signature check
  (the key is parsed once), the NATS round trip; the correlation-id middleware
  is plain ASGI.
- tickets: one transaction per submit (user lookup, number, append,
  projections, outbox) with commands handled 16 at a time per replica.
- The submit → 201 tail comes from CPU contention between ~8 busy processes on
  2 cores, not from one slow step: the same command sent straight over NATS at
  50/s (bypassing HTTP) answers with p99 ≈ 20 ms on this machine. On a
  deployment the gateway, services, NATS and PostgreSQL run on separate
  nodes and scale out (queue groups, shared durable consumers).
{privacy_section(privacy, t["submit_p99_ms"])}
{search_section}
{section(attachments)}"""


def report_path(argv: list[str]) -> Path:
    """Where the report goes: the first argument, or var/bench/<name>."""
    return Path(argv[1]) if len(argv) > 1 else ROOT / "var" / "bench" / "performance.md"


def write_report(report: str, argv: list[str]) -> None:
    print(report)
    path = report_path(argv)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report)
    print(f"written to {path}")


def main() -> None:
    write_report(asyncio.run(run()), sys.argv)


if __name__ == "__main__":
    main()

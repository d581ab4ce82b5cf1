"""`make bench`, sealing personal data (issue 30): what sealing costs, against the
same work with nothing sealed, in the same run, on the same servers.

(f) event-store appends/s of realistic `TicketSubmitted` events (names, e-mails,
    subject, description; REQUESTERS people, so keys are reused), 8 concurrent
    writers: `EventStore(models={})` (nothing sealed, the store before issue 30)
    against the default `EventStore()`, sealing with keys from
    - the local keystore on the writer's connection, no cache (identity's ring,
      `keystore.local`, as tests/schemas.py `with_keystore` sets it up), and
    - `RemoteKeyRing`, keys asked of identity over NATS and cached (the ring
      every other service runs with; "identity" here answers `GetDataKeys`
      from the same keystore, in this process).
(g) the tickets service's submit handler called in-process (no HTTP, no NATS
    hop: only the handler's own time), one submit at a time, p50/p99 and CPU,
    wired by tests/integration/tickets/conftest.py `started_tickets`: sealing as
    the service does, against the same handlers with the kit's sealing swapped
    out for the round (`unsealed`): the stored copy plain as `EventStore(models={})`
    keeps it, and the outbox copy plain too, which `models={}` alone still seals.

Variants take turns in ROUNDS rounds, so drift on the shared cores (other
processes, autovacuum) falls on each alike. The whole system's submit p99
(sealing always on; it cannot be started without it) is (d) of tests/bench.py.

Called from tests/bench.py (`bench_privacy`), which adds `privacy_section(...)`
to the report; `python -m tests.bench_privacy` runs this part alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import asyncpg
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Contact, SlaClock, SlaSchedule, SubmitTicket, TicketSubmitted
from helpdesk.servicekit import keystore
from helpdesk.servicekit.eventstore import EventStore, NewEvent
from helpdesk.servicekit.handlers import router
from helpdesk.servicekit.keystore import Keystore
from helpdesk.servicekit.remote_keys import RemoteKeyRing
from helpdesk.servicekit.runtime import broker_options
from tests.integration.tickets.conftest import MONDAY_9, Tickets, started_tickets
from tests.schemas import TEST_KEKS
from tests.servers import Servers

REQUESTERS = 50
WRITERS = 8
APPENDS_PER_ROUND = 500  # per variant
SUBMITS_PER_ROUND = 120  # per variant
ROUNDS = 10
TARGET = 0.10  # issue 30: within 10 % of the same work unsealed

PLAIN, LOCAL, REMOTE = "plain", "local", "remote"
VARIANTS = (PLAIN, LOCAL, REMOTE)

GREEK_NAMES = ["Μαρία Παπαδοπούλου", "Γιώργος Νικολάου", "Ελένη Γεωργίου", "Νίκος Ιωάννου"]
SUBJECTS = ["Ο εκτυπωτής του τρίτου ορόφου δεν τυπώνει", "VPN drops every hour"]
DESCRIPTION = (
    "Από χθες το πρωί ο εκτυπωτής δείχνει «χαρτί μπλοκαρισμένο» αν και δεν υπάρχει "
    "χαρτί μέσα. Δοκίμασα επανεκκίνηση. Since yesterday the VPN client disconnects "
    "every hour and asks for the password again; the log says 'peer not responding'."
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclasses.dataclass(frozen=True)
class Requester:
    user_id: uuid.UUID
    name: str
    email: str


def requesters(count: int = REQUESTERS) -> list[Requester]:
    people = []
    for i in range(count):
        user_id = uuid.uuid4()
        name = f"{GREEK_NAMES[i % len(GREEK_NAMES)]} {i}"
        people.append(Requester(user_id, name, f"user{i}.{user_id.hex[:6]}@example.gr"))
    return people


def submitted(i: int, person: Requester) -> NewEvent:
    """A ticket's first event as the tickets service stores it (the contract form)."""
    event = TicketSubmitted(
        ticket_id=uuid.uuid4(),
        number=f"HD-2026-{i:06d}",
        at=MONDAY_9,
        requester_id=person.user_id,
        requester=Contact(user_id=person.user_id, name=person.name, email=person.email),
        subject_line=SUBJECTS[i % len(SUBJECTS)],
        description=DESCRIPTION,
        priority=Priority.NORMAL,
        queue="service-desk",
        clock=SlaClock.BUSINESS_HOURS,
        page=False,
        first_response_due=MONDAY_9 + timedelta(hours=4),
        resolution_due=MONDAY_9 + timedelta(days=2),
        sla=SlaSchedule(),
    )
    return NewEvent(
        event.event_type, event.model_dump(mode="json"), schema_version=event.schema_version
    )


class Rings:
    """The process's key ring, switched per round (`keystore.configure` is global):
    identity's local keystore, or a RemoteKeyRing asking an in-process "identity"."""

    def __init__(self, nc: NatsClient) -> None:
        self.store = Keystore(TEST_KEKS)
        self.remote = RemoteKeyRing(nc, TEST_KEKS)

    def use(self, variant: str) -> None:
        if variant == REMOTE:
            keystore.configure(self.remote)
        else:  # the plain variant seals nothing, whichever ring is set
            keystore.configure(keystore.local(self.store))


@contextlib.asynccontextmanager
async def identity_answering(servers: Servers, pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Identity's `GetDataKeys` answered from the keystore in `pool`'s database."""
    broker = NatsBroker(servers.nats_url, logger=None, **broker_options(servers.nats_options()))
    broker.include_router(router("identity", keystore.serve_data_keys(pool, Keystore(TEST_KEKS))))
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def unsealed() -> contextlib.ExitStack:
    """The kit's sealing swapped out, as before issue 30: the store's copy of an
    event stays plain (as `EventStore(models={})` keeps it) and so does the
    outbox's (which `models={}` alone would still seal)."""

    async def plain_events(_conn: Any, _models: Any, events: Any, _owner: Any = None) -> Any:
        return list(events)

    async def plain_envelope(_conn: Any, envelope: Any) -> Any:
        return envelope

    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch("helpdesk.servicekit.eventstore.sealed", plain_events))
    stack.enter_context(mock.patch("helpdesk.servicekit.outbox.sealed_envelope", plain_envelope))
    return stack


async def in_turns(run: Callable[[str, bool], Awaitable[None]]) -> None:
    """`run(variant, record)`: once each unrecorded (connections, plans, every
    requester's key made), then ROUNDS rounds, every other one in reverse order."""
    for variant in VARIANTS:
        await run(variant, False)
    for round_number in range(ROUNDS):
        for variant in VARIANTS if round_number % 2 == 0 else VARIANTS[::-1]:
            await run(variant, True)


async def bench_sealed_appends(pool: asyncpg.Pool, rings: Rings) -> dict[str, list[float]]:
    """(f): appends/s of each variant in each round."""
    # Imported here: tests/bench.py imports this module first.
    from tests.bench import concurrently

    people = requesters()
    stores = {PLAIN: EventStore(models={}), LOCAL: EventStore(), REMOTE: EventStore()}
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    serial = iter(range(10**9))

    async def appends(variant: str, record: bool) -> None:
        store = stores[variant]
        rings.use(variant)
        events = [
            submitted(n, people[n % len(people)])
            for n in (next(serial) for _ in range(APPENDS_PER_ROUND))
        ]

        async def append(i: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await store.append(conn, f"ticket-{events[i].event_id}", 0, [events[i]])

        rate = await concurrently(len(events), append)
        if record:
            rates[variant].append(rate)

    await in_turns(appends)
    return rates


async def bench_sealed_submits(
    tickets: Tickets, rings: Rings
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(g): each variant's submit handler latencies, and this process's CPU time
    per submit (ms): the CPU figure is what the shared cores' noise hides in a p99."""
    actors = [await tickets.user(f"Requester {i}") for i in range(REQUESTERS)]
    submit = tickets.app.handlers[SubmitTicket]
    latencies: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    serial = iter(range(10**9))

    async def submits(variant: str, record: bool) -> None:
        rings.use(variant)
        with unsealed() if variant == PLAIN else contextlib.nullcontext():
            for _ in range(SUBMITS_PER_ROUND):
                n = next(serial)
                command = SubmitTicket(
                    actor=actors[n % len(actors)],
                    subject=SUBJECTS[n % len(SUBJECTS)],
                    description=DESCRIPTION,
                    priority=Priority.NORMAL,
                )
                start, start_cpu = time.perf_counter(), time.process_time()
                await submit(command)
                if record:
                    latencies[variant].append((time.perf_counter() - start) * 1000)
                    cpu[variant].append((time.process_time() - start_cpu) * 1000)

    await in_turns(submits)
    return latencies, cpu


async def bench_privacy(servers: Servers) -> dict[str, float]:
    """Figures of (f) and (g), and the ratios to the plain variant."""
    async with started_tickets(servers) as tickets, identity_answering(servers, tickets.pool):
        rings = Rings(tickets.nc)
        try:
            rates = await bench_sealed_appends(tickets.pool, rings)
            latencies, cpu = await bench_sealed_submits(tickets, rings)
        finally:
            keystore.configure(keystore.local(rings.store))  # as tests/schemas.py sets it
    figures: dict[str, float] = {"submits": len(latencies[PLAIN])}
    for variant in VARIANTS:
        figures[f"appends_{variant}"] = statistics.median(rates[variant])
        figures[f"submit_p50_{variant}"] = pct(latencies[variant], 0.5)
        figures[f"submit_p99_{variant}"] = pct(latencies[variant], 0.99)
        figures[f"submit_cpu_{variant}"] = statistics.mean(cpu[variant])
    return figures


def _within(ratio: float, higher_is_better: bool) -> str:
    cost = 1 - ratio if higher_is_better else ratio - 1
    return "met" if cost <= TARGET else f"**NOT met** ({cost:+.0%})"


# The sealed variants as the report names them.
RING_NAMES = {LOCAL: "local keystore, no cache", REMOTE: "RemoteKeyRing, cached"}


def privacy_section(f: dict[str, float], system_submit_p99_ms: float | None = None) -> str:
    """The report's section; `system_submit_p99_ms`: (d)'s submit → 201 p99 of the
    same run, the whole system with sealing on (it cannot start without it)."""
    rows = []
    for variant, ring in RING_NAMES.items():
        appends = f[f"appends_{variant}"] / f[f"appends_{PLAIN}"]
        rows.append(
            f"| (f) event-store appends/s, `TicketSubmitted`, {WRITERS} writers, sealed ({ring})"
            f" | {f[f'appends_{variant}']:,.0f} | {f[f'appends_{PLAIN}']:,.0f} with"
            f" `EventStore(models={{}})` | {appends:.2f}× | ≥ 0.90× — {_within(appends, True)} |"
        )
    for variant, ring in RING_NAMES.items():
        p99 = f[f"submit_p99_{variant}"] / f[f"submit_p99_{PLAIN}"]
        cpu = f[f"submit_cpu_{variant}"] / f[f"submit_cpu_{PLAIN}"]
        rows += [
            f"| (g) submit handler in-process, sealed ({ring}), {f['submits']:.0f} submits"
            f" | p50 {f[f'submit_p50_{variant}']:.1f} ms, p99 {f[f'submit_p99_{variant}']:.1f} ms"
            f" | p50 {f[f'submit_p50_{PLAIN}']:.1f} ms, p99 {f[f'submit_p99_{PLAIN}']:.1f} ms"
            f" nothing sealed | p99 {p99:.2f}× | ≤ 1.10× — {_within(p99, False)} |",
            f"| (g) CPU per submit of that process, sealed ({ring})"
            f" | {f[f'submit_cpu_{variant}']:.2f} ms | {f[f'submit_cpu_{PLAIN}']:.2f} ms"
            f" nothing sealed | {cpu:.2f}× | |",
        ]
    if system_submit_p99_ms is not None:
        rows.append(
            "| (d) `POST /api/v1/tickets` → 201 through the whole system, sealed"
            f" (RemoteKeyRing in tickets) | p99 {system_submit_p99_ms:.1f} ms | none: the"
            " services do not start without sealing | | p99 < 50 ms; (g) for the ratio |"
        )
    table = "\n".join(rows)
    return f"""
## Sealing personal data (issue 30)

Each sealed figure beside the same work with nothing sealed, in the same run
(variants take turns in {ROUNDS} rounds; appends/s is the median round).
Target: within {TARGET:.0%} of the unsealed figure.

| measure | sealed | nothing sealed | ratio | target |
| --- | ---: | ---: | ---: | --- |
{table}

- (f) {REQUESTERS} requesters; each event has a name, an e-mail, a subject
  and a description: four values sealed (AES-256-GCM) per event. "local" is
  identity's ring: a keystore read (and an unwrap) per value, in the writer's
  transaction; "RemoteKeyRing" is every other service's: keys asked of
  identity over NATS once, then cached.
- (g) the tickets service's submit handler (number, append, projections,
  outbox: one statement), called directly, one submit at a time; the baseline
  is the same handlers with the kit's sealing swapped out: the stored copy
  plain, as `EventStore(models={{}})` keeps it, and the outbox copy plain too
  (`models={{}}` alone still seals that one). Its CPU row is the process's
  CPU time per submit (handler and asyncpg; PostgreSQL's own is not in it):
  a steadier figure than a p99 on two shared cores. The whole system's submit → 201 is (d).
"""


async def _main() -> None:
    from tests.servers import test_servers

    with tempfile.TemporaryDirectory() as tmp, test_servers(Path(tmp)) as servers:
        print(privacy_section(await bench_privacy(servers)))


if __name__ == "__main__":
    asyncio.run(_main())

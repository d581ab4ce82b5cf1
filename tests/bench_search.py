# ruff: noqa: E501  (word lists and the report table, like tests/bench.py)
"""`make bench`, search and reports section: seeds tickets (with public replies,
internal notes and resolutions, spread over a year) through the tickets
repository's own save path (event store + projections, as a command does),
then measures full-text search against a plain indexed lookup by ticket number
in the same run, the SLA report over one month, and the as_of queue.

`HELPDESK_BENCH_SEARCH_TICKETS` (default 100000) sets the size.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.reports import GroupBy
from helpdesk.contracts.tickets import Category, Contact, TicketStatus
from helpdesk.servicekit import keystore
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.tickets.adapters import history, search
from helpdesk.tickets.adapters.history import HistoryProjection
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.adapters.projections import TicketsProjection
from helpdesk.tickets.adapters.repository import PostgresTickets
from helpdesk.tickets.adapters.search import SearchProjection
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.search import SearchTerms, parse
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.deps import SearchQuery, TicketFilter
from tests.schemas import migrated_pool

TICKETS = int(os.environ.get("HELPDESK_BENCH_SEARCH_TICKETS", "100000"))
WRITERS, BATCH = 4, 100
RUNS = 60  # per query
START = datetime(2025, 12, 1, 7, tzinfo=UTC)

GREEK = [
    "εκτυπωτής",
    "εκτυπωτές",
    "δίκτυο",
    "δικτύου",
    "σύνδεση",
    "κωδικός",
    "λογαριασμός",
    "email",
    "διακομιστής",
    "οθόνη",
    "πληκτρολόγιο",
    "ποντίκι",
    "τιμολόγιο",
    "λογιστήριο",
    "πρόγραμμα",
    "εφαρμογή",
    "ενημέρωση",
    "αρχείο",
    "φάκελος",
    "κοινόχρηστος",
    "πρόσβαση",
    "άδεια",
    "ταχύτητα",
    "αργό",
    "κολλάει",
    "σφάλμα",
    "μήνυμα",
    "ρούτερ",
    "τηλέφωνο",
    "κάμερα",
    "σαρωτής",
    "μελάνι",
    "χαρτί",
    "μπαταρία",
    "φορτιστής",
]
ENGLISH = [
    "printer",
    "network",
    "connection",
    "password",
    "account",
    "mailbox",
    "server",
    "screen",
    "keyboard",
    "mouse",
    "invoice",
    "accounting",
    "application",
    "update",
    "file",
    "folder",
    "shared",
    "access",
    "licence",
    "slow",
    "crash",
    "error",
    "message",
    "router",
    "phone",
    "camera",
    "scanner",
    "toner",
    "paper",
    "battery",
    "charger",
    "vpn",
    "outlook",
]
FILLER_EL = ["ο", "η", "το", "δεν", "και", "στο", "από", "με", "για", "σε", "μας"]
FILLER_EN = ["the", "a", "is", "not", "and", "on", "from", "with", "for", "in", "our"]


def _synthetic(syllables: list[str], count: int, seed: int) -> list[str]:
    """A larger vocabulary (product names, places, jargon) so that a common word
    matches a realistic share of tickets, not most of them."""
    rng = random.Random(seed)
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(count)]


RARE_EL = _synthetic(
    ["κα", "το", "με", "ρι", "νο", "σα", "πε", "λι", "δα", "φο", "γε", "τρι"], 3000, 1
)
RARE_EN = _synthetic(
    ["ka", "to", "me", "ri", "no", "sa", "pe", "li", "da", "fo", "ge", "tri"], 3000, 2
)


def sentence(rng: random.Random, words: int) -> str:
    greek = rng.random() < 0.6
    vocab, filler = (GREEK, FILLER_EL) if greek else (ENGLISH, FILLER_EN)
    rare = RARE_EL if greek else RARE_EN
    picked = []
    for _ in range(words):
        draw = rng.random()
        if draw < 0.15:
            picked.append(rng.choice(vocab))
        elif draw < 0.6:
            picked.append(rng.choice(rare))
        else:
            picked.append(rng.choice(filler))
    return " ".join(picked).capitalize() + "."


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed(pool: asyncpg.Pool, projections: list, total: int) -> float:  # type: ignore[type-arg]
    policy = load_policy()
    store = EventStore()
    customers = [Contact(user_id=uuid.uuid4(), name=f"Πελάτης {i}") for i in range(2000)]
    agents = [Contact(user_id=uuid.uuid4(), name=f"Agent {i}") for i in range(30)]
    span = 365 * 24 * 3600
    counter = iter(range(0, total, BATCH))
    # People exist before they write: identity made their keys when they registered
    # (made here inside the writers' batches, they would lock each other's rows).
    async with pool.acquire() as conn:
        for person in (*customers, *agents):
            await keystore.owned().key_for(conn, person.user_id)

    async def writer(seed_value: int) -> None:
        rng = random.Random(seed_value)
        for first in counter:
            async with pool.acquire() as conn, conn.transaction():
                repo = PostgresTickets(conn, store, projections)
                for n in range(first, min(first + BATCH, total)):
                    now = START + timedelta(seconds=span * n / total)
                    requester = customers[n % len(customers)]
                    ticket = Ticket.submit(
                        ticket_id=uuid.uuid4(),
                        number=f"HD-{now.year}-{n + 1:06d}",
                        requester=requester,
                        subject=sentence(rng, 6)[:200],
                        description=" ".join(sentence(rng, 14) for _ in range(3)),
                        priority=rng.choice(list(Priority)),
                        category=rng.choice(list(Category)),
                        policy=policy,
                        now=now,
                    )
                    agent = Caller(rng.choice(agents), is_agent=True)
                    later = now + timedelta(minutes=rng.randint(5, 600))
                    ticket.add_message(
                        agent, body=sentence(rng, 20), internal=False, policy=policy, now=later
                    )
                    if rng.random() < 0.4:
                        ticket.add_message(
                            agent, body=sentence(rng, 12), internal=True, policy=policy, now=later
                        )
                    if rng.random() < 0.7:
                        done = later + timedelta(minutes=rng.randint(10, 5000))
                        ticket.change_status(agent, TicketStatus.RESOLVED, policy=policy, now=done)
                    await repo.save(ticket)

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(WRITERS)))
    elapsed = time.perf_counter() - started
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM outbox")
        await conn.execute("VACUUM ANALYZE")
    return elapsed


async def timed(work, runs: int = RUNS) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await work()  # plans and caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def bench_search(database_url: str) -> str:
    _, pool = await migrated_pool(
        database_url, "tickets", prefix="bench_search", max_size=WRITERS + 2
    )
    projections = [TicketsProjection(), SearchProjection(), HistoryProjection(load_policy())]
    seconds = await seed(pool, projections, TICKETS)
    rows = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM tickets) AS tickets,"
        " pg_size_pretty(pg_total_relation_size('ticket_search')) AS search_size,"
        " pg_size_pretty(pg_total_relation_size('ticket_history')) AS history_size"
    )
    sample = await pool.fetchrow(
        "SELECT number, requester_id FROM tickets ORDER BY created_at OFFSET $1 LIMIT 1",
        TICKETS // 2,
    )
    agent_filter = TicketFilter()
    customer_filter = TicketFilter(requester_id=sample["requester_id"])
    queries = [
        "εκτυπωτές", "ΔΙΚΤΥΟ", "σύνδεση κωδικός", "λογιστ", "printer", "outlook crash",
        "scann", sample["number"], sample["number"][-6:],
    ]  # fmt: skip
    search_ms: list[float] = []
    customer_ms: list[float] = []
    per_query: list[str] = []
    async with pool.acquire() as conn:
        for text in queries:
            terms = parse(text)

            async def agent_search(terms: SearchTerms = terms) -> None:
                await search.search(conn, SearchQuery(terms, agent_filter, include_notes=True))

            async def customer_search(terms: SearchTerms = terms) -> None:
                await search.search(conn, SearchQuery(terms, customer_filter))

            agent_times = await timed(agent_search)
            customer_times = await timed(customer_search, RUNS // 3)
            search_ms += agent_times
            customer_ms += customer_times
            per_query.append(
                f"| `{text}` | {pct(agent_times, 0.5):.1f} / {pct(agent_times, 0.99):.1f}"
                f" | {pct(customer_times, 0.5):.1f} / {pct(customer_times, 0.99):.1f} |"
            )

        async def by_number() -> None:
            await search.number_lookup(conn, sample["number"])

        lookup_ms = await timed(by_number, RUNS * 3)
        month = (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
        as_of = datetime(2026, 11, 30, tzinfo=UTC)

        async def month_report() -> None:
            await history.sla_report(
                conn, start=month[0], end=month[1], as_of=as_of, group_by=GroupBy.PRIORITY
            )

        report_ms = await timed(month_report, 10)

        async def queue_as_of() -> None:
            await history.list_as_of(
                conn,
                TicketFilter(hide_closed=True, soonest_due_first=True),
                datetime(2026, 5, 18, 7, tzinfo=UTC),
                cursor=None,
                limit=50,
            )

        as_of_ms = await timed(queue_as_of, 20)
    await pool.close()
    ok = lambda cond: "met" if cond else "NOT met"  # noqa: E731
    s50, s99 = pct(search_ms, 0.5), pct(search_ms, 0.99)
    return f"""
## Search and SLA reports (tests/bench_search.py)

{rows["tickets"]:,} tickets ({rows["events"]:,} events: replies, internal notes, resolutions,
spread over a year, 60 % Greek text) seeded through the repository's save path
(event store + the tickets, search and history projections, as a command does)
in {seconds:.0f} s; `ticket_search` {rows["search_size"]}, `ticket_history` {rows["history_size"]}.
Times are the query functions the handlers call, on one connection, after warm-up.

| measure | helpdesk | baseline | ratio | target |
| --- | ---: | ---: | ---: | --- |
| agent search, {len(queries)} queries (Greek, accents, plurals, prefixes, English, numbers) × {RUNS}, 20 hits with snippets | p50 {s50:.1f} ms, p99 {s99:.1f} ms | lookup by number p50 {pct(lookup_ms, 0.5):.2f} ms, p99 {pct(lookup_ms, 0.99):.2f} ms | p50 {s50 / pct(lookup_ms, 0.5):.0f}× | p99 < 50 ms — {ok(s99 < 50)} |
| customer search (own tickets only) | p50 {pct(customer_ms, 0.5):.1f} ms, p99 {pct(customer_ms, 0.99):.1f} ms | | | |
| SLA report, one month (May 2026), by priority | median {pct(report_ms, 0.5):.0f} ms, max {max(report_ms):.0f} ms | | | |
| agents' queue as of an instant (first 50) | median {pct(as_of_ms, 0.5):.1f} ms | | | |

Per query, p50 / p99 in ms:

| query | agent | customer |
| --- | ---: | ---: |
{chr(10).join(per_query)}
"""


if __name__ == "__main__":
    import tempfile
    from pathlib import Path

    from tests.servers import test_servers

    async def main() -> None:
        with tempfile.TemporaryDirectory() as tmp, test_servers(Path(tmp)) as servers:
            print(await bench_search(servers.database_url))

    asyncio.run(main())

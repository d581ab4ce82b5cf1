"""Idempotent consumers, back-off and dead letters on real JetStream + PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from prometheus_client import REGISTRY

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.servicekit.consumer import EventConsumer, list_dead_letters, redrive, subscribe
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.runtime import broker_options
from tests.eventually import eventually
from tests.servers import Servers

pytestmark = pytest.mark.integration


class Noted(EventData):
    producer: ClassVar[str] = "test"
    aggregate: ClassVar[str] = "note"
    text: str


class Aside(EventData):
    """An event of the same subject filter that a consumer may not handle."""

    producer: ClassVar[str] = "test"
    aggregate: ClassVar[str] = "note"
    text: str


class Flaky:
    """A handler that fails its first `failures` calls, takes `seconds` for each
    other one (longer than the consumer's ack_wait, for the in-progress beats),
    and records its effect."""

    def __init__(self, failures: int = 0, seconds: float = 0.0) -> None:
        self.failures = failures
        self.seconds = seconds
        self.calls = 0

    async def __call__(self, conn: Connection, envelope: EventEnvelope) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"transient failure {self.calls}")
        await asyncio.sleep(self.seconds)
        await conn.execute("INSERT INTO effects (text) VALUES ($1)", envelope.data["text"])


@pytest.fixture
async def setup(schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient) -> tuple[str, asyncpg.Pool]:
    schema, pool = schema_pool
    await pool.execute("CREATE TABLE effects (text text NOT NULL)")
    await nc.jetstream().add_stream(
        StreamConfig(name=schema.upper(), subjects=[f"{schema}.>"], duplicate_window=120.0)
    )
    return schema, pool


async def publish(nc: NatsClient, schema: str, envelope: EventEnvelope) -> None:
    # No Nats-Msg-Id: the server keeps both copies, as after a redelivery.
    await nc.jetstream().publish(f"{schema}.events.note", envelope.model_dump_json().encode())


async def effects(pool: asyncpg.Pool) -> list[str]:
    return [r["text"] for r in await pool.fetch("SELECT text FROM effects")]


@asynccontextmanager
async def consuming(
    servers: Servers, pool: asyncpg.Pool, consumer: EventConsumer
) -> AsyncIterator[None]:
    """`consumer` subscribed on a broker of its own for the block, stopped after it."""
    broker = NatsBroker(servers.nats_url, logger=None, **broker_options(servers.nats_options()))
    subscribe(broker, pool, consumer)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def effects_are(pool: asyncpg.Pool, expected: list[str]) -> Callable[[], Awaitable[bool]]:
    """A check for `eventually`: the handler's effects are `expected`."""

    async def check() -> bool:
        return await effects(pool) == expected

    return check


async def one_dead_letter(pool: asyncpg.Pool) -> bool:
    """A check for `eventually`: the consumer has parked one message."""
    return len(await list_dead_letters(pool)) == 1


async def test_a_redelivered_event_is_handled_once(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = setup
    handler = Flaky(failures=0)
    consumer = EventConsumer(f"{schema}-once", f"{schema}.events.>", handler)
    async with consuming(servers, pool, consumer):
        envelope = EventEnvelope.wrap(Noted(text="hello"), correlation_id="c-1")
        await publish(nc, schema, envelope)
        await publish(nc, schema, envelope)
        await eventually(lambda: _consumed(nc, schema.upper(), consumer.name, 2))
    assert await effects(pool) == ["hello"]
    assert handler.calls == 1


async def test_a_handler_slower_than_ack_wait_keeps_its_message_with_in_progress_beats(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    """Without the beats JetStream would redeliver after ack_wait, and this
    inbox-less handler would write its effect twice."""
    schema, pool = setup
    handler = Flaky(seconds=3.5)
    consumer = EventConsumer(
        f"{schema}-slow", f"{schema}.events.>", handler, ack_wait=1.0, inbox=False
    )
    async with consuming(servers, pool, consumer):
        await publish(nc, schema, EventEnvelope.wrap(Noted(text="slow"), correlation_id="c-s"))
        await eventually(effects_are(pool, ["slow"]))
        await asyncio.sleep(1.5)  # a redelivery, had there been one, would be running by now
    assert handler.calls == 1
    assert await effects(pool) == ["slow"]


async def test_one_worker_handles_a_fetched_batch_one_event_after_another_in_order(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    """FastStream hands every message of a fetched batch to a task of its own at
    once; a one-worker consumer must still run its handler one event at a time,
    in stream order (the batch is published before the consumer starts, so it
    arrives as one fetch)."""
    schema, pool = setup
    running = most = 0

    async def handler(conn: Connection, envelope: EventEnvelope) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05 if int(envelope.data["text"]) % 2 else 0.01)
        await conn.execute("INSERT INTO effects (text) VALUES ($1)", envelope.data["text"])
        running -= 1

    texts = [str(i) for i in range(8)]
    for text in texts:
        await publish(nc, schema, EventEnvelope.wrap(Noted(text=text), correlation_id="c-o"))
    consumer = EventConsumer(f"{schema}-order", f"{schema}.events.>", handler, inbox=False)
    async with consuming(servers, pool, consumer):

        async def done() -> bool:
            return len(await effects(pool)) == len(texts)

        await eventually(done)
    assert most == 1
    assert [r["text"] for r in await pool.fetch("SELECT text FROM effects ORDER BY ctid")] == texts


async def test_events_a_consumer_does_not_handle_are_acked_without_a_transaction(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    """`handles` names the event types the handler acts on: the others of its
    subject filter are acknowledged, never reach the handler and leave no inbox row."""
    schema, pool = setup
    handler = Flaky(failures=0)
    consumer = EventConsumer(
        f"{schema}-handles", f"{schema}.events.>", handler, handles=frozenset({Noted.event_type})
    )

    def counted(name: str) -> float | None:
        return REGISTRY.get_sample_value(
            f"consumer_events_{name}_total", {"consumer": consumer.name}
        )

    aside = EventEnvelope.wrap(Aside(text="ignored"), correlation_id="c-aside")
    noted = EventEnvelope.wrap(Noted(text="handled"), correlation_id="c-noted")
    async with consuming(servers, pool, consumer):
        # Every counter exists from the start (an alert on its increase must see it).
        assert (counted("handled"), counted("skipped"), counted("duplicate")) == (0.0, 0.0, 0.0)
        await publish(nc, schema, aside)
        await publish(nc, schema, noted)
        await eventually(lambda: _consumed(nc, schema.upper(), consumer.name, 2))
    assert await effects(pool) == ["handled"]
    assert handler.calls == 1
    inbox = await pool.fetch("SELECT event_id FROM inbox WHERE consumer = $1", consumer.name)
    assert [r["event_id"] for r in inbox] == [noted.event_id]
    assert (counted("handled"), counted("skipped")) == (1.0, 1.0)


class KeyedTwice:
    """Two writes keyed by the event (a mail per recipient, say); the first
    delivery dies between them."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, conn: Connection, envelope: EventEnvelope) -> None:
        self.calls += 1
        for part in ("a", "b"):
            await conn.execute(
                "INSERT INTO keyed (event_id, part) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                envelope.event_id,
                part,
            )
            if self.calls == 1:
                raise RuntimeError("died after the first write")


async def test_a_consumer_without_inbox_relies_on_its_keys_and_completes_a_broken_delivery(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    """`inbox=False`: no transaction, no inbox row. The first write of a delivery
    that died stays, the retry adds only the missing one, and a redelivered
    event adds nothing."""
    schema, pool = setup
    await pool.execute(
        "CREATE TABLE keyed (event_id uuid, part text, PRIMARY KEY (event_id, part))"
    )
    handler = KeyedTwice()
    consumer = EventConsumer(
        f"{schema}-keyed", f"{schema}.events.>", handler, backoff=(0.1,), inbox=False
    )
    envelope = EventEnvelope.wrap(Noted(text="keyed"), correlation_id="c-keyed")
    async with consuming(servers, pool, consumer):
        await publish(nc, schema, envelope)
        await eventually(lambda: _consumed(nc, schema.upper(), consumer.name, 1))
        await publish(nc, schema, envelope)  # a redelivery, after it was handled
        await eventually(lambda: _consumed(nc, schema.upper(), consumer.name, 2))
    assert handler.calls == 3
    rows = await pool.fetch("SELECT event_id, part FROM keyed ORDER BY part")
    assert [(r["event_id"], r["part"]) for r in rows] == [
        (envelope.event_id, "a"),
        (envelope.event_id, "b"),
    ]
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 0
    assert await list_dead_letters(pool) == []


async def test_a_failing_handler_is_retried_with_back_off_until_it_succeeds(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = setup
    handler = Flaky(failures=2)
    consumer = EventConsumer(f"{schema}-retry", f"{schema}.events.>", handler, backoff=(0.1, 0.2))
    async with consuming(servers, pool, consumer):
        await publish(nc, schema, EventEnvelope.wrap(Noted(text="later"), correlation_id="c-2"))
        await eventually(effects_are(pool, ["later"]))
    assert handler.calls == 3
    assert await list_dead_letters(pool) == []


async def test_after_max_deliveries_the_event_is_dead_lettered_and_can_be_redriven(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = setup
    handler = Flaky(failures=3)
    consumer = EventConsumer(
        f"{schema}-dlq",
        f"{schema}.events.>",
        handler,
        max_deliver=3,
        backoff=(0.05,),
    )
    async with consuming(servers, pool, consumer):
        await publish(nc, schema, EventEnvelope.wrap(Noted(text="poison"), correlation_id="c-3"))
        await eventually(lambda: one_dead_letter(pool))
    [dead] = await list_dead_letters(pool)
    assert dead.consumer == consumer.name
    assert "transient failure 3" in dead.error
    assert dead.deliveries == 3
    assert await effects(pool) == []

    # The cause is fixed (the handler now succeeds): the operator re-drives it.
    assert await redrive(pool, [consumer], dead.id)
    assert await effects(pool) == ["poison"]
    assert await list_dead_letters(pool) == []


async def test_a_malformed_message_is_parked_at_once(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = setup
    consumer = EventConsumer(f"{schema}-bad", f"{schema}.events.>", Flaky(0))
    async with consuming(servers, pool, consumer):
        await nc.jetstream().publish(f"{schema}.events.note", b"{not json")
        await eventually(lambda: one_dead_letter(pool))
    [dead] = await list_dead_letters(pool)
    assert dead.error.startswith("malformed envelope")


async def _consumed(nc: NatsClient, stream: str, durable: str, count: int) -> bool:
    info = await nc.jetstream().consumer_info(stream, durable)
    return info.ack_floor.stream_seq >= count and info.num_ack_pending == 0


async def test_database_down_at_the_last_delivery_never_loses_the_message(
    tmp_path: Path, servers: Servers, nc: NatsClient
) -> None:
    """The handler fails, then the consumer's database stops across the delivery
    that would park the message: parking fails too, yet the message comes back
    and is handled once the database returns (no loss, no dead letter)."""
    from importlib.resources import files

    from helpdesk.devstack.servers import PostgresServer
    from helpdesk.servicekit.db import (
        KIT_MIGRATIONS,
        apply_migrations,
        create_pool,
        migration_files,
    )

    pg = PostgresServer(tmp_path / "pg").start()
    schema = "parked"
    pool = await create_pool(pg.url, schema, min_size=1, max_size=4)
    await apply_migrations(pool, schema, migration_files(files(KIT_MIGRATIONS)))
    await pool.execute("CREATE TABLE effects (text text NOT NULL)")
    stream = f"PARK_{uuid.uuid4().hex[:8].upper()}"
    subject = stream.lower()
    await nc.jetstream().add_stream(StreamConfig(name=stream, subjects=[f"{subject}.>"]))
    handler = Flaky(failures=1)
    consumer = EventConsumer(
        f"{subject}-park",
        f"{subject}.events.>",
        handler,
        max_deliver=2,
        backoff=(2.0,),  # time to stop the database before the last delivery
        park_retry_delay=0.3,
    )
    failures_before = _sample("consumer_park_failures_total", consumer.name)
    try:
        async with consuming(servers, pool, consumer):
            await nc.jetstream().publish(
                f"{subject}.events.note",
                EventEnvelope.wrap(Noted(text="kept"), correlation_id="c-p")
                .model_dump_json()
                .encode(),
            )
            await eventually(_async(lambda: handler.calls == 1), timeout=30)
            await asyncio.to_thread(pg.stop)  # down before the second (last) delivery
            failed_parks = "consumer_park_failures_total"
            await eventually(
                _async(lambda: _sample(failed_parks, consumer.name) > failures_before + 1),
                timeout=30,
            )
            info = await nc.jetstream().consumer_info(stream, consumer.name)
            assert info.num_ack_pending + info.num_pending == 1  # still there, not dropped
            await asyncio.to_thread(pg.start)

            async def handled() -> bool:
                try:
                    return await effects(pool) == ["kept"]
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    return False

            # Delayed, never dropped: how soon depends on the redelivery back-off and on
            # the machine's load (15 s was too short with a second test worker busy).
            await eventually(handled, timeout=60)
            await eventually(lambda: _consumed(nc, stream, consumer.name, 1))
    finally:
        await pool.close()
        await asyncio.to_thread(pg.stop)
    assert handler.calls == 2
    assert await _dead_letter_count(pg, schema) == 0


def _sample(metric: str, consumer: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(metric, {"consumer": consumer}) or 0.0


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()

    return run


async def _dead_letter_count(pg: Any, schema: str) -> int:
    pg.start()
    conn = await asyncpg.connect(pg.url, server_settings={"search_path": schema})
    try:
        return int(await conn.fetchval("SELECT count(*) FROM dead_letters"))
    finally:
        await conn.close()
        pg.stop()


async def declared_by_an_older_release(
    js: JetStreamContext, consumer: EventConsumer, *, max_deliver: int, ack_wait: float
) -> None:
    """The durable consumer as an older release created it, with its settings then."""
    await js.add_consumer(
        consumer.stream,
        ConsumerConfig(
            durable_name=consumer.name,
            filter_subject=consumer.subject,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=max_deliver,
            ack_wait=ack_wait,
        ),
    )


async def test_a_durable_consumer_of_an_older_release_is_brought_to_unlimited_redelivery(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient
) -> None:
    from helpdesk.servicekit.consumer import ACK_WAIT, ensure_current_config

    schema, _ = setup
    consumer = EventConsumer(f"{schema}-old", f"{schema}.events.>", Flaky(0))
    js = nc.jetstream()
    await declared_by_an_older_release(js, consumer, max_deliver=6, ack_wait=60)
    await ensure_current_config(js, consumer)
    info = await js.consumer_info(consumer.stream, consumer.name)
    assert info.config.max_deliver == -1
    assert info.config.ack_wait == ACK_WAIT
    assert info.config.filter_subject == consumer.subject


async def test_a_durable_consumer_is_brought_to_the_filter_its_handlers_derive(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient
) -> None:
    """A consumer declared with a wide filter by an older release (`x.events.>`)
    gets the narrower one its event handlers now derive, on the real server."""
    from helpdesk.servicekit.consumer import ensure_current_config

    schema, _ = setup
    wide = EventConsumer(f"{schema}-narrowed", f"{schema}.events.>", Flaky(0))
    js = nc.jetstream()
    await declared_by_an_older_release(js, wide, max_deliver=-1, ack_wait=wide.ack_wait)
    narrow = EventConsumer(wide.name, f"{schema}.events.thing.>", Flaky(0))
    await ensure_current_config(js, narrow)
    info = await js.consumer_info(narrow.stream, narrow.name)
    assert info.config.filter_subject == f"{schema}.events.thing.>"


def test_a_consumer_name_that_could_break_its_inbox_statement_is_refused() -> None:
    """The inbox row is written by a simple query with the name in it (one round
    trip with BEGIN): a name is letters, digits, '-' and '_' only."""
    with pytest.raises(ValueError, match="letters, digits"):
        EventConsumer("x'); DROP TABLE inbox; --", "t.events.>", Flaky(failures=0))

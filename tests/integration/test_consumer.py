"""Idempotent consumers, back-off and dead letters on real JetStream + PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import asyncpg
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamConfig

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.servicekit.consumer import EventConsumer, list_dead_letters, redrive, subscribe
from helpdesk.servicekit.db import Connection
from tests.servers import Servers

pytestmark = pytest.mark.integration


class Noted(EventData):
    producer: ClassVar[str] = "test"
    aggregate: ClassVar[str] = "note"
    text: str


class Flaky:
    """A handler that fails its first `failures` calls, then records its effect."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, conn: Connection, envelope: EventEnvelope) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"transient failure {self.calls}")
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


async def eventually(check: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def run_consumer(servers: Servers, pool: asyncpg.Pool, consumer: EventConsumer) -> NatsBroker:
    broker = NatsBroker(servers.nats_url, logger=None, **servers.nats_options())
    subscribe(broker, pool, consumer)
    await broker.start()
    return broker


async def test_a_redelivered_event_is_handled_once(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = setup
    handler = Flaky(failures=0)
    consumer = EventConsumer(f"{schema}-once", f"{schema}.events.>", handler)
    broker = await run_consumer(servers, pool, consumer)
    try:
        envelope = EventEnvelope.wrap(Noted(text="hello"), correlation_id="c-1")
        await publish(nc, schema, envelope)
        await publish(nc, schema, envelope)
        await eventually(lambda: _consumed(nc, schema.upper(), consumer.name, 2))
    finally:
        await broker.stop()
    assert await effects(pool) == ["hello"]
    assert handler.calls == 1


async def test_a_failing_handler_is_retried_with_back_off_until_it_succeeds(
    setup: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = setup
    handler = Flaky(failures=2)
    consumer = EventConsumer(f"{schema}-retry", f"{schema}.events.>", handler, backoff=(0.1, 0.2))
    broker = await run_consumer(servers, pool, consumer)
    try:
        await publish(nc, schema, EventEnvelope.wrap(Noted(text="later"), correlation_id="c-2"))

        async def done() -> bool:
            return await effects(pool) == ["later"]

        await eventually(done)
    finally:
        await broker.stop()
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
    broker = await run_consumer(servers, pool, consumer)
    try:
        await publish(nc, schema, EventEnvelope.wrap(Noted(text="poison"), correlation_id="c-3"))

        async def parked() -> bool:
            return len(await list_dead_letters(pool)) == 1

        await eventually(parked)
    finally:
        await broker.stop()
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
    broker = await run_consumer(servers, pool, consumer)
    try:
        await nc.jetstream().publish(f"{schema}.events.note", b"{not json")

        async def parked() -> bool:
            return len(await list_dead_letters(pool)) == 1

        await eventually(parked)
    finally:
        await broker.stop()
    [dead] = await list_dead_letters(pool)
    assert dead.error.startswith("malformed envelope")


async def _consumed(nc: NatsClient, stream: str, durable: str, count: int) -> bool:
    info = await nc.jetstream().consumer_info(stream, durable)
    return info.ack_floor.stream_seq >= count and info.num_ack_pending == 0

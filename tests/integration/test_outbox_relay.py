"""The outbox relay against a real PostgreSQL and a real NATS JetStream."""

from __future__ import annotations

import asyncio
import uuid
from typing import ClassVar

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamConfig
from prometheus_client import REGISTRY

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.servicekit.outbox import OutgoingMessage, add_to_outbox
from helpdesk.servicekit.relay import OutboxRelay, measure_outbox
from tests.eventually import eventually
from tests.servers import Servers

pytestmark = pytest.mark.integration


class Pinged(EventData):
    producer: ClassVar[str] = "test"
    aggregate: ClassVar[str] = "ping"
    n: int


def message(schema: str, n: int) -> OutgoingMessage:
    env = EventEnvelope.wrap(Pinged(n=n), correlation_id=f"corr-{n}")
    return OutgoingMessage(envelope=env, subject=f"{schema}.events.ping")


async def make_stream(nc: NatsClient, schema: str) -> str:
    name = schema.upper()
    await nc.jetstream().add_stream(
        StreamConfig(name=name, subjects=[f"{schema}.>"], duplicate_window=120.0)
    )
    return name


async def stream_numbers(nc: NatsClient, stream: str, schema: str) -> list[int]:
    js = nc.jetstream()
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return []
    sub = await js.pull_subscribe(f"{schema}.>", durable=None, stream=stream)
    got: list[int] = []
    while len(got) < info.state.messages:
        for msg in await sub.fetch(min(256, info.state.messages - len(got)), timeout=5):
            got.append(EventEnvelope.model_validate_json(msg.data).data["n"])
            await msg.ack()
    await sub.unsubscribe()
    return got


async def write(pool: asyncpg.Pool, *messages: OutgoingMessage) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, list(messages))


async def test_publishes_in_order_with_msg_id_and_correlation(
    schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = schema_pool
    stream = await make_stream(nc, schema)
    await write(pool, *(message(schema, n) for n in range(1, 51)))
    relay = OutboxRelay(servers.database_url, schema, nc.jetstream())
    async with pool.acquire() as conn:
        assert await relay.publish_pending(conn) == 50
        assert await relay.publish_pending(conn) == 0
    assert await stream_numbers(nc, stream, schema) == list(range(1, 51))
    first = await nc.jetstream().get_msg(stream, 1)
    assert first.headers is not None
    assert first.headers["X-Correlation-Id"] == "corr-1"
    assert uuid.UUID(first.headers["Nats-Msg-Id"])


async def test_never_skips_a_transaction_that_commits_after_a_later_one(
    schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = schema_pool
    stream = await make_stream(nc, schema)
    relay = OutboxRelay(servers.database_url, schema, nc.jetstream())
    slow = await pool.acquire()
    try:
        tx = slow.transaction()
        await tx.start()
        await add_to_outbox(slow, [message(schema, 1)])  # lower position, still open
        await write(pool, message(schema, 2))  # higher position, committed
        async with pool.acquire() as conn:
            assert await relay.publish_pending(conn) == 0  # held back, not skipped
            await tx.commit()
            assert await relay.publish_pending(conn) == 2
    finally:
        await pool.release(slow)
    assert await stream_numbers(nc, stream, schema) == [1, 2]


async def test_a_republish_after_a_crash_is_dropped_as_duplicate(
    schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = schema_pool
    stream = await make_stream(nc, schema)
    replayed = [message(schema, n) for n in range(1, 4)]
    await write(pool, *replayed)
    relay = OutboxRelay(servers.database_url, schema, nc.jetstream())
    async with pool.acquire() as conn:
        await relay.publish_pending(conn)
    # The relay crashed after JetStream acked but before PostgreSQL recorded it:
    # the same rows are still in the outbox and are published again.
    await write(pool, *replayed)
    async with pool.acquire() as conn:
        assert await relay.publish_pending(conn) == 3
    assert await stream_numbers(nc, stream, schema) == [1, 2, 3]


async def test_published_rows_leave_the_outbox(
    schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = schema_pool
    stream = await make_stream(nc, schema)
    await write(pool, message(schema, 1), message(schema, 2))
    relay = OutboxRelay(servers.database_url, schema, nc.jetstream())
    async with pool.acquire() as conn:
        await relay.publish_pending(conn)
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    assert await stream_numbers(nc, stream, schema) == [1, 2]


async def test_relay_restarts_without_loss_and_only_one_replica_publishes(
    schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = schema_pool
    stream = await make_stream(nc, schema)
    first = OutboxRelay(servers.database_url, schema, nc.jetstream(), poll_interval=0.1)
    second = OutboxRelay(servers.database_url, schema, nc.jetstream(), poll_interval=0.1)
    tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]

    async def produce(start: int, stop: int) -> None:
        for n in range(start, stop):
            await write(pool, message(schema, n))

    await produce(1, 101)
    await asyncio.sleep(0.5)
    assert [first.is_leader, second.is_leader].count(True) == 1
    leader = 0 if first.is_leader else 1
    tasks[leader].cancel()  # the active relay dies mid-stream
    producing = asyncio.create_task(produce(101, 201))
    await producing
    for _ in range(100):
        info = await nc.jetstream().stream_info(stream)
        if info.state.messages >= 200:
            break
        await asyncio.sleep(0.1)
    survivor = second if leader == 0 else first
    assert survivor.is_leader
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await stream_numbers(nc, stream, schema) == list(range(1, 201))


async def test_the_backlog_gauge_shows_the_age_of_the_oldest_unpublished_row(
    schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    schema, pool = schema_pool
    await make_stream(nc, schema)
    assert await measure_outbox(pool, schema) == 0.0
    await write(pool, message(schema, 1))
    await pool.execute("UPDATE outbox SET created_at = now() - interval '90 seconds'")
    assert await measure_outbox(pool, schema) >= 90.0
    assert REGISTRY.get_sample_value("outbox_oldest_pending_seconds", {"schema": schema}) >= 90.0
    relay = OutboxRelay(servers.database_url, schema, nc.jetstream())
    async with pool.acquire() as conn:
        await relay.publish_pending(conn)
    assert await measure_outbox(pool, schema) == 0.0


async def test_commits_soon_after_a_round_wait_for_the_next_and_go_together(
    schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers
) -> None:
    """Rounds start at most every `min_round_seconds` (1 s here, to see it):
    two commits right after a round are published together when it has passed;
    an event after a quiet moment goes at once."""
    schema, pool = schema_pool
    await make_stream(nc, schema)
    arrived: dict[int, float] = {}
    loop = asyncio.get_running_loop()

    async def received(msg: object) -> None:
        arrived[EventEnvelope.model_validate_json(msg.data).data["n"]] = loop.time()  # type: ignore[attr-defined]

    await nc.jetstream().subscribe(f"{schema}.>", cb=received, ordered_consumer=True)
    relay = OutboxRelay(
        servers.database_url, schema, nc.jetstream(), poll_interval=5.0, min_round_seconds=1.0
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: relay.is_leader)
        await asyncio.sleep(1.1)  # quiet: the first event goes at once
        sent = loop.time()
        await write(pool, message(schema, 1))
        await eventually(lambda: 1 in arrived)
        assert arrived[1] - sent < 0.5
        await write(pool, message(schema, 2))
        await asyncio.sleep(0.05)
        await write(pool, message(schema, 3))
        await eventually(lambda: len(arrived) == 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert arrived[2] - arrived[1] >= 0.5  # waited for the round's spacing
    assert abs(arrived[3] - arrived[2]) < 0.3  # one batch (separate rounds: 1 s apart)

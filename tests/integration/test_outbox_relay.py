"""The outbox relay against a real PostgreSQL and a real NATS JetStream."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
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


@dataclass
class Outbox:
    """A test's schema, whose outbox a relay publishes to its own stream."""

    schema: str
    pool: asyncpg.Pool
    stream: str
    nc: NatsClient
    database_url: str

    def relay(self, **options: float) -> OutboxRelay:
        return OutboxRelay(self.database_url, self.schema, self.nc.jetstream(), **options)

    async def write(self, *ns: int) -> None:
        """The messages numbered `ns`, written in one transaction."""
        await write(self.pool, *(message(self.schema, n) for n in ns))

    async def published(self) -> list[int]:
        """The numbers of the messages on the stream, in its order."""
        return await stream_numbers(self.nc, self.stream, self.schema)


@pytest.fixture
async def outbox(schema_pool: tuple[str, asyncpg.Pool], nc: NatsClient, servers: Servers) -> Outbox:
    schema, pool = schema_pool
    return Outbox(schema, pool, await make_stream(nc, schema), nc, servers.database_url)


async def test_publishes_in_order_with_msg_id_and_correlation(outbox: Outbox) -> None:
    await outbox.write(*range(1, 51))
    relay = outbox.relay()
    async with outbox.pool.acquire() as conn:
        assert await relay.publish_pending(conn) == 50
        assert await relay.publish_pending(conn) == 0
    assert await outbox.published() == list(range(1, 51))
    first = await outbox.nc.jetstream().get_msg(outbox.stream, 1)
    assert first.headers is not None
    assert first.headers["X-Correlation-Id"] == "corr-1"
    assert uuid.UUID(first.headers["Nats-Msg-Id"])


async def test_never_skips_a_transaction_that_commits_after_a_later_one(outbox: Outbox) -> None:
    pool = outbox.pool
    relay = outbox.relay()
    slow = await pool.acquire()
    try:
        tx = slow.transaction()
        await tx.start()
        await add_to_outbox(slow, [message(outbox.schema, 1)])  # lower position, still open
        await outbox.write(2)  # higher position, committed
        async with pool.acquire() as conn:
            assert await relay.publish_pending(conn) == 0  # held back, not skipped
            await tx.commit()
            assert await relay.publish_pending(conn) == 2
    finally:
        await pool.release(slow)
    assert await outbox.published() == [1, 2]


async def test_a_republish_after_a_crash_is_dropped_as_duplicate(outbox: Outbox) -> None:
    replayed = [message(outbox.schema, n) for n in range(1, 4)]
    await write(outbox.pool, *replayed)
    relay = outbox.relay()
    async with outbox.pool.acquire() as conn:
        await relay.publish_pending(conn)
    # The relay crashed after JetStream acked but before PostgreSQL recorded it:
    # the same rows are still in the outbox and are published again.
    await write(outbox.pool, *replayed)
    async with outbox.pool.acquire() as conn:
        assert await relay.publish_pending(conn) == 3
    assert await outbox.published() == [1, 2, 3]


async def test_published_rows_leave_the_outbox(outbox: Outbox) -> None:
    await outbox.write(1, 2)
    async with outbox.pool.acquire() as conn:
        await outbox.relay().publish_pending(conn)
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    assert await outbox.published() == [1, 2]


async def test_relay_restarts_without_loss_and_only_one_replica_publishes(
    outbox: Outbox,
) -> None:
    first, second = outbox.relay(poll_interval=0.1), outbox.relay(poll_interval=0.1)
    tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]

    async def produce(start: int, stop: int) -> None:
        for n in range(start, stop):
            await outbox.write(n)

    await produce(1, 101)
    await asyncio.sleep(0.5)
    assert [first.is_leader, second.is_leader].count(True) == 1
    leader = 0 if first.is_leader else 1
    tasks[leader].cancel()  # the active relay dies mid-stream
    producing = asyncio.create_task(produce(101, 201))
    await producing
    for _ in range(100):
        info = await outbox.nc.jetstream().stream_info(outbox.stream)
        if info.state.messages >= 200:
            break
        await asyncio.sleep(0.1)
    survivor = second if leader == 0 else first
    assert survivor.is_leader
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await outbox.published() == list(range(1, 201))


async def test_the_backlog_gauge_shows_the_age_of_the_oldest_unpublished_row(
    outbox: Outbox,
) -> None:
    schema, pool = outbox.schema, outbox.pool
    assert await measure_outbox(pool, schema) == 0.0
    await outbox.write(1)
    await pool.execute("UPDATE outbox SET created_at = now() - interval '90 seconds'")
    assert await measure_outbox(pool, schema) >= 90.0
    assert REGISTRY.get_sample_value("outbox_oldest_pending_seconds", {"schema": schema}) >= 90.0
    async with pool.acquire() as conn:
        await outbox.relay().publish_pending(conn)
    assert await measure_outbox(pool, schema) == 0.0


async def test_commits_soon_after_a_round_wait_for_the_next_and_go_together(
    outbox: Outbox,
) -> None:
    """Rounds start at most every `min_round_seconds` (1 s here, to see it):
    two commits right after a round are published together when it has passed;
    an event after a quiet moment goes at once."""
    arrived: dict[int, float] = {}
    loop = asyncio.get_running_loop()

    async def received(msg: object) -> None:
        arrived[EventEnvelope.model_validate_json(msg.data).data["n"]] = loop.time()  # type: ignore[attr-defined]

    await outbox.nc.jetstream().subscribe(f"{outbox.schema}.>", cb=received, ordered_consumer=True)
    relay = outbox.relay(poll_interval=5.0, min_round_seconds=1.0)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: relay.is_leader)
        await asyncio.sleep(1.1)  # quiet: the first event goes at once
        sent = loop.time()
        await outbox.write(1)
        await eventually(lambda: 1 in arrived)
        assert arrived[1] - sent < 0.5
        await outbox.write(2)
        await asyncio.sleep(0.05)
        await outbox.write(3)
        await eventually(lambda: len(arrived) == 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert arrived[2] - arrived[1] >= 0.5  # waited for the round's spacing
    assert abs(arrived[3] - arrived[2]) < 0.3  # one batch (separate rounds: 1 s apart)

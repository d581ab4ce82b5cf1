"""The event store against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.servicekit.eventstore import ConcurrencyError, EventStore, NewEvent, RecordedEvent
from helpdesk.servicekit.outbox import OutgoingMessage
from helpdesk.servicekit.statements import Write, merged
from tests.integration.test_outbox_relay import Pinged

pytestmark = pytest.mark.integration

store = EventStore()


def event(n: int) -> NewEvent:
    return NewEvent(event_type="Counted", data={"n": n})


async def append(
    pool: asyncpg.Pool, stream_id: str, version: int, events: list[NewEvent]
) -> list[RecordedEvent]:
    """`events` appended to `stream_id` in a transaction of their own."""
    async with pool.acquire() as conn, conn.transaction():
        return await store.append(conn, stream_id, version, events)


async def load(pool: asyncpg.Pool, stream_id: str) -> list[RecordedEvent]:
    async with pool.acquire() as conn:
        return await store.load(conn, stream_id)


async def test_append_then_load_in_version_order(schema_pool: tuple[str, asyncpg.Pool]) -> None:
    _, pool = schema_pool
    async with pool.acquire() as conn, conn.transaction():
        recorded = await store.append(conn, "s-1", 0, [event(1), event(2)])
        await store.append(conn, "s-1", 2, [event(3)])
    assert [r.version for r in recorded] == [1, 2]
    loaded = await load(pool, "s-1")
    assert [(e.version, e.data["n"]) for e in loaded] == [(1, 1), (2, 2), (3, 3)]


async def test_stale_expected_version_is_a_concurrency_error(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = schema_pool
    await append(pool, "s-2", 0, [event(1)])
    for wrong in (0, 2):
        with pytest.raises(ConcurrencyError):
            await append(pool, "s-2", wrong, [event(9)])
    assert [e.data["n"] for e in await load(pool, "s-2")] == [1]


async def test_concurrent_writers_at_the_same_version_one_wins(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = schema_pool

    async def write(n: int) -> str:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await store.append(conn, "s-3", 0, [event(n)])
                await asyncio.sleep(0.05)  # hold the transaction open across the race
            return "won"
        except ConcurrencyError:
            return "lost"

    results = await asyncio.gather(*(write(n) for n in range(8)))
    assert sorted(results) == ["lost"] * 7 + ["won"]
    assert len(await load(pool, "s-3")) == 1


async def test_appending_the_same_event_ids_again_is_a_no_op(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = schema_pool
    batch = [event(1), event(2)]
    first = await append(pool, "s-4", 0, batch)
    again = await append(pool, "s-4", 0, batch)  # a retried command
    assert [e.event_id for e in again] == [e.event_id for e in first]
    assert len(await load(pool, "s-4")) == 2


async def test_replay_reads_every_stream_in_position_order_across_batches(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = schema_pool
    async with pool.acquire() as conn, conn.transaction():
        for n in range(5):
            await store.append(conn, f"r-{n}", 0, [event(n), event(n + 10)])
    async with pool.acquire() as conn, conn.transaction():
        replayed = [e async for e in store.replay(conn, batch_size=3)]
    assert [e.stream_id for e in replayed] == [f"r-{n}" for n in range(5) for _ in (1, 2)]
    assert [e.position for e in replayed] == sorted(e.position for e in replayed)


async def test_event_ids_are_unique_across_streams(schema_pool: tuple[str, asyncpg.Pool]) -> None:
    _, pool = schema_pool
    shared = NewEvent(event_type="Counted", data={}, event_id=uuid.uuid4())
    await append(pool, "x", 0, [shared])
    with pytest.raises(ConcurrencyError):
        await append(pool, "y", 0, [shared, event(2)])


def published(ns: list[int]) -> tuple[list[NewEvent], list[OutgoingMessage]]:
    """Events and the messages that publish them, with the same ids."""
    messages = [
        OutgoingMessage(EventEnvelope.wrap(Pinged(n=n), correlation_id="c"), "test.events.ping")
        for n in ns
    ]
    events = [
        NewEvent(event_type="Pinged", data={"n": n}, event_id=m.envelope.event_id)
        for n, m in zip(ns, messages, strict=True)
    ]
    return events, messages


async def outbox(conn: asyncpg.Connection) -> list[uuid.UUID]:
    return [
        r["event_id"] for r in await conn.fetch("SELECT event_id FROM outbox ORDER BY position")
    ]


async def test_an_append_publishes_its_messages_in_the_same_statement(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    """The outbox rows go in with the events, in the order given; an append that
    loses the race writes none, and a retried append writes none again."""
    _, pool = schema_pool
    events, messages = published([1, 2, 3])
    async with pool.acquire() as conn, conn.transaction():
        await store.append(conn, "p-1", 0, events, publish=messages)
        assert await outbox(conn) == [m.envelope.event_id for m in messages]
    stale, stale_messages = published([4])
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(ConcurrencyError):
            await store.append(conn, "p-1", 0, stale, publish=stale_messages)
        assert len(await outbox(conn)) == 3  # before the caller's rollback, too
    async with pool.acquire() as conn, conn.transaction():
        again = await store.append(conn, "p-1", 0, events, publish=messages)
        assert [e.event_id for e in again] == [e.event_id for e in events]
        assert len(await outbox(conn)) == 3


async def test_an_append_written_with_other_writes_is_all_or_nothing(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    """`append_writes`: the events, their outbox rows and another table's write
    as one statement, with no transaction around it. A stream that moved on
    fails the whole statement (the other write too) and is told apart as a
    conflict; the same events again are a conflict the store already holds."""
    _, pool = schema_pool
    await pool.execute("CREATE TABLE counted (stream_id text, n int)")

    async def one_statement(
        version: int, events: list[NewEvent], messages: list[OutgoingMessage]
    ) -> Write:
        async with pool.acquire() as conn:
            writes, recorded = await store.append_writes(
                conn, "w-1", version, events, publish=messages, now=datetime.now(UTC)
            )
        assert [r.version for r in recorded] == list(range(version + 1, version + 1 + len(events)))
        other = Write("INSERT INTO counted (stream_id, n) VALUES ($1, $2)", ("w-1", len(events)))
        return merged([*writes, other])

    events, messages = published([1, 2])
    await (await one_statement(0, events, messages)).run(pool)  # type: ignore[arg-type]
    async with pool.acquire() as conn:
        assert [e.version for e in await store.load(conn, "w-1")] == [1, 2]
        assert await outbox(conn) == [m.envelope.event_id for m in messages]
    assert await pool.fetchval("SELECT sum(n) FROM counted") == 2

    stale, stale_messages = published([3])
    with pytest.raises(asyncpg.IntegrityConstraintViolationError) as moved_on:
        await (await one_statement(0, stale, stale_messages)).run(pool)  # type: ignore[arg-type]
    assert EventStore.conflict(moved_on.value)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError) as retried:
        await (await one_statement(0, events, messages)).run(pool)  # type: ignore[arg-type]
    assert EventStore.conflict(retried.value)
    async with pool.acquire() as conn:
        assert await EventStore.stored(conn, events)
        assert not await EventStore.stored(conn, stale)
        assert len(await outbox(conn)) == 2
    assert await pool.fetchval("SELECT sum(n) FROM counted") == 2  # nothing of either

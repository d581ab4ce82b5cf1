"""The kit's connection pool: a released connection is reused without a reset
round trip, yet never hands the next user a transaction or a listener."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from helpdesk.servicekit.db import create_pool
from tests.servers import Servers


@pytest.fixture
async def one_connection(servers: Servers) -> AsyncIterator[asyncpg.Pool]:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    pool = await create_pool(servers.database_url, schema, min_size=1, max_size=1)
    yield pool
    await pool.close()


async def test_a_release_costs_no_query(one_connection: asyncpg.Pool) -> None:
    async with one_connection.acquire() as conn:
        await conn.fetchval("SELECT 1")
        raw = conn._con  # the pooled connection behind the proxy
        queries_before_release = raw._protocol.queries_count
    async with one_connection.acquire() as conn:
        assert conn._con is raw
        assert raw._protocol.queries_count == queries_before_release


async def test_a_transaction_left_open_is_rolled_back_at_release(
    one_connection: asyncpg.Pool,
) -> None:
    async with one_connection.acquire() as conn:
        await conn.execute("CREATE TABLE kept (n int)")
    conn = await one_connection.acquire()
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO kept VALUES (1)")
    await one_connection.release(conn)  # as a cancelled handler would leave it
    async with one_connection.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT count(*) FROM kept") == 0


async def test_a_listener_left_behind_is_not_called_for_the_next_user(
    one_connection: asyncpg.Pool,
) -> None:
    heard: list[object] = []
    async with one_connection.acquire() as conn:
        await conn.add_listener("pool_test", lambda *args: heard.append(args))
    async with one_connection.acquire() as conn:
        await conn.execute("NOTIFY pool_test, 'late'")
        await conn.fetchval("SELECT 1")  # the notification arrives before this answer
    assert heard == []

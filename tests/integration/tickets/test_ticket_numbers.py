"""Ticket numbers from the per-year sequences (migration 0002): unique under
concurrency and across a year boundary, without one submit waiting for another."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from importlib.resources import files

import asyncpg
import pytest

from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from helpdesk.tickets.adapters.repository import (
    next_number,
    prepare_number_years,
    user_and_number,
)
from tests.integration.tickets.conftest import ATHENS
from tests.servers import Servers

pytestmark = pytest.mark.integration

MIGRATIONS = "helpdesk.tickets.migrations"
# Years no migration created a sequence for: both are created by the race itself.
NEW_YEAR = datetime(2041, 1, 1, tzinfo=ATHENS)


class RolledBack(Exception):
    pass


async def migrated(servers: Servers, *, only: str | None = None) -> tuple[str, asyncpg.Pool]:
    schema = f"tn_{uuid.uuid4().hex[:10]}"
    pool = await create_pool(servers.database_url, schema, min_size=1, max_size=24)
    tickets = [m for m in migration_files(files(MIGRATIONS)) if only is None or m[0] <= only]
    await apply_migrations(pool, schema, migration_files(files(KIT_MIGRATIONS)) + tickets)
    return schema, pool


@pytest.mark.parametrize(
    "prepared", [True, False], ids=["years-prepared", "years-created-by-submits"]
)
async def test_numbers_are_unique_across_a_year_boundary_under_concurrency(
    servers: Servers, prepared: bool
) -> None:
    _, pool = await migrated(servers)
    if prepared:  # as the service does hourly, ahead of the first ticket
        await prepare_number_years(pool, NEW_YEAR - timedelta(days=1))
    start = asyncio.Event()

    async def take(i: int) -> tuple[str, bool]:
        # Alternating sides of midnight; every fourth transaction rolls back.
        now = NEW_YEAR - timedelta(microseconds=1) if i % 2 else NEW_YEAR
        rollback = i % 4 == 3
        await start.wait()
        number = ""
        try:
            async with pool.acquire() as conn, conn.transaction():
                number = await next_number(conn, now)
                await asyncio.sleep(0.05)  # keep the transaction open beside the others
                if rollback:
                    raise RolledBack()
        except RolledBack:
            pass
        return number, not rollback

    tasks = [asyncio.create_task(take(i)) for i in range(80)]
    start.set()  # the first tickets of both years create their sequences at once
    taken = await asyncio.gather(*tasks)
    await pool.close()

    committed = [n for n, kept in taken if kept]
    assert len(set(committed)) == len(committed) == 60
    numbers = [n for n, _ in taken] if prepared else committed
    for year in (2040, 2041):
        ours = sorted(int(n.rsplit("-", 1)[1]) for n in numbers if n.startswith(f"HD-{year}-"))
        assert len(ours) == len(set(ours))
        assert ours[0] >= 1, year
        assert ours[-1] <= 40, year
        if prepared:
            # Each year counts from 1; a rolled-back submit leaves a gap, never a repeat.
            assert ours == list(range(1, 41)), year
    # Without a prepared sequence, the transaction that creates it inside a submit
    # takes its numbers with it if it rolls back, so they may be handed out again:
    # to nobody else who committed.


async def test_a_number_taken_in_an_open_transaction_blocks_no_other_submit(
    servers: Servers,
) -> None:
    _, pool = await migrated(servers)
    now = datetime(2035, 11, 23, 9, tzinfo=ATHENS)
    async with pool.acquire() as conn:
        assert await next_number(conn, now) == "HD-2035-000001"  # creates the year's sequence
    async with pool.acquire() as first, first.transaction():
        assert await next_number(first, now) == "HD-2035-000002"
        # With the old counter row this waited for `first` to commit: a deadlock here.
        async with pool.acquire() as second, second.transaction():
            assert await asyncio.wait_for(next_number(second, now), 5) == "HD-2035-000003"
    await pool.close()


async def test_the_migration_continues_each_years_counter(servers: Servers) -> None:
    schema, pool = await migrated(servers, only="tickets_0001_init.sql")
    await pool.execute(
        "INSERT INTO ticket_numbers (year, last_number) VALUES (2025, 812), (2026, 41)"
    )
    await apply_migrations(pool, schema, migration_files(files(MIGRATIONS)))
    async with pool.acquire() as conn:
        assert await next_number(conn, datetime(2025, 6, 1, tzinfo=ATHENS)) == "HD-2025-000813"
        assert await next_number(conn, datetime(2026, 6, 1, tzinfo=ATHENS)) == "HD-2026-000042"
        assert await next_number(conn, datetime(2024, 6, 1, tzinfo=ATHENS)) == "HD-2024-000001"
        assert await conn.fetchval("SELECT to_regclass('ticket_numbers')") is None
    await pool.close()


async def test_the_migration_creates_this_and_next_years_sequences(servers: Servers) -> None:
    _, pool = await migrated(servers)
    year = await pool.fetchval("SELECT extract(year FROM now() AT TIME ZONE 'Europe/Athens')")
    for y in (int(year), int(year) + 1):
        assert await pool.fetchval("SELECT to_regclass($1)", f"ticket_number_{y}") is not None
    await pool.close()


async def test_a_submit_reads_its_user_and_takes_its_number_in_one_statement(
    servers: Servers,
) -> None:
    """`user_and_number`: the number comes with the user, and also for a user the
    projection does not know yet (the submit is refused, its number a gap)."""
    _, pool = await migrated(servers)
    known = uuid.uuid4()
    await pool.execute(
        "INSERT INTO users (user_id, name, email, locale, roles, active)"
        " VALUES ($1, 'Μαρία', 'maria@example.gr', 'el', '{customer}', true)",
        known,
    )
    now = datetime(2039, 3, 1, tzinfo=ATHENS)
    async with pool.acquire() as conn:
        user, first = await user_and_number(conn, known, now)
        stranger, second = await user_and_number(conn, uuid.uuid4(), now)
        _, third = await user_and_number(conn, known, now)
    assert user is not None
    assert (user.user_id, user.name, user.email, user.active) == (
        known,
        "Μαρία",
        "maria@example.gr",
        True,
    )
    assert stranger is None
    assert [first, second, third] == ["HD-2039-000001", "HD-2039-000002", "HD-2039-000003"]
    await pool.close()

"""PostgreSQL connections: one schema per service, JSON codecs, versioned migrations."""

from __future__ import annotations

import asyncio
import json
from importlib.resources.abc import Traversable
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

KIT_MIGRATIONS = "helpdesk.servicekit.migrations"

# What handlers receive: a plain connection or one borrowed from a pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


async def init_connection(conn: Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _left_as_found(conn: Connection) -> None:
    """A released connection is reused as it is: asyncpg has already rolled back
    an open transaction and dropped its listeners. Its default reset also sends
    `RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()` — a round trip
    on every release, for session state the kit's code does not leave on a
    pooled connection (session locks and LISTEN are taken on dedicated
    connections, or undone in a `finally` where they are used)."""


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 10, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see the service's own schema first."""
    await ensure_schema(dsn, schema)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        reset=_left_as_found,
        server_settings={"search_path": f"{schema},public", "application_name": schema},
    )
    assert pool is not None
    return pool


async def ensure_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        # Creating the same schema from two replicas at once can still collide.
        await conn.execute("SELECT pg_advisory_lock(hashtext('helpdesk-create-schema'))")
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()


async def close_within(conn: asyncpg.Connection, seconds: float = 2.0) -> None:
    """Close gracefully if the server answers in time, else drop the socket.

    asyncpg's close() first waits, without any timeout, for the server to
    acknowledge a query that was cancelled mid-flight; a task being cancelled
    must not hang there (the server ends the session, and its advisory locks,
    either way)."""
    try:
        async with asyncio.timeout(seconds):  # not wait_for: see servicekit.waits
            await conn.close()
    except asyncio.CancelledError:
        conn.terminate()
        raise
    except Exception:
        conn.terminate()


def migration_files(*packages: Traversable) -> list[tuple[str, str]]:
    """(name, sql) of every `*.sql` file, in name order within each package."""
    files: list[tuple[str, str]] = []
    for package in packages:
        for entry in sorted(package.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                files.append((entry.name, entry.read_text(encoding="utf-8")))
    return files


async def apply_migrations(
    pool: asyncpg.Pool, schema: str, files: list[tuple[str, str]]
) -> list[str]:
    """Apply the files not yet applied, under a lock so replicas can start together."""
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in files:
            if name in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
    if applied:
        log.info("migrations applied", schema=schema, migrations=applied)
    return applied

"""The mailgate's store on a fresh PostgreSQL schema of its own (kit + mailgate
migrations), and a real SMTP listener in front of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from importlib.resources import files

import asyncpg
import pytest

from helpdesk.devstack.servers import free_port
from helpdesk.mailgate.adapters.smtp import IntakeHandler, accepts, listen
from helpdesk.mailgate.adapters.store import PostgresMailStore
from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from tests.servers import Servers

SUPPORT = ("helpdesk@company.example",)
MAX_BYTES = 64 * 1024


@pytest.fixture
async def mail_pool(servers: Servers) -> AsyncIterator[asyncpg.Pool]:
    schema = f"mg_{uuid.uuid4().hex[:10]}"
    pool = await create_pool(servers.database_url, schema, min_size=1, max_size=5)
    packages = [files(KIT_MIGRATIONS), files("helpdesk.mailgate.migrations")]
    await apply_migrations(pool, schema, migration_files(*packages))
    yield pool
    await pool.close()


@pytest.fixture
def store(mail_pool: asyncpg.Pool) -> PostgresMailStore:
    return PostgresMailStore(mail_pool)


async def start_listener(store: PostgresMailStore, *, lmtp: bool = False) -> asyncio.Server:
    handler = IntakeHandler(store, accepts(SUPPORT), source="lmtp" if lmtp else "smtp")
    return await listen(handler, "127.0.0.1", free_port(), max_bytes=MAX_BYTES, lmtp=lmtp)


@pytest.fixture
async def smtp_port(store: PostgresMailStore) -> AsyncIterator[int]:
    server = await start_listener(store)
    yield server.sockets[0].getsockname()[1]
    server.close()

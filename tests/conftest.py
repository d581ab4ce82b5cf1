"""Session-wide real servers for integration tests, and one running helpdesk
shared by the end-to-end and browser tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient

from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from tests.e2e.harness import System, start_system
from tests.servers import Servers, test_servers


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with test_servers(tmp_path_factory.mktemp("servers")) as found:
        yield found


@pytest.fixture
async def schema_pool(servers: Servers) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A fresh, migrated service schema of its own for one test."""
    from importlib.resources import files

    schema = f"t_{uuid.uuid4().hex[:10]}"
    pool = await create_pool(servers.database_url, schema, min_size=1, max_size=20)
    await apply_migrations(pool, schema, migration_files(files(KIT_MIGRATIONS)))
    yield schema, pool
    await pool.close()


@pytest.fixture
async def nc(servers: Servers) -> AsyncIterator[NatsClient]:
    """A connection as the tests' own all-permitted identity (tests/servers.py)."""
    client = await nats.connect(servers.nats_url, **servers.nats_options())
    yield client
    await client.drain()


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
async def system(
    tmp_path_factory: pytest.TempPathFactory, servers: Servers
) -> AsyncIterator[System]:
    """Every service as a process, with its own NATS and database and a mail sink."""
    running = await start_system(tmp_path_factory.mktemp("system"), servers)
    yield running
    await asyncio.to_thread(running.stop)

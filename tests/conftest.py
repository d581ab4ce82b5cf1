"""Session-wide real servers for integration tests, and one running helpdesk
shared by the end-to-end and browser tests."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from types import TracebackType

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient

from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from tests.e2e.harness import System, start_system
from tests.schemas import with_keystore
from tests.servers import Servers, test_servers


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test stopped by pytest-timeout shows where every asyncio task waits: the
    timeout's own traceback only shows the event loop idling in select()."""
    report = yield
    if call.excinfo is not None and "Timeout" in str(call.excinfo.value):
        loop = _event_loop_in(call.excinfo.tb)
        if loop is not None:
            stacks = io.StringIO()
            for task in asyncio.all_tasks(loop):
                task.print_stack(limit=12, file=stacks)
            report.sections.append(("asyncio tasks at the timeout", stacks.getvalue()))
    return report


def _event_loop_in(tb: TracebackType | None) -> asyncio.AbstractEventLoop | None:
    """The event loop whose run was interrupted: a `self` somewhere up the stack."""
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, asyncio.AbstractEventLoop):
            return candidate
        tb = tb.tb_next
    return None


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
    await with_keystore(pool)
    yield schema, pool
    await pool.close()


@pytest.fixture
async def nc(servers: Servers) -> AsyncIterator[NatsClient]:
    """A connection as the tests' own all-permitted identity (tests/servers.py)."""
    client = await nats.connect(servers.nats_url, **servers.nats_options())
    yield client
    await client.drain()


@pytest.fixture(scope="session")
async def system(
    tmp_path_factory: pytest.TempPathFactory, servers: Servers
) -> AsyncIterator[System]:
    """Every service as a process, with its own NATS and database and a mail sink."""
    running = await start_system(tmp_path_factory.mktemp("system"), servers)
    yield running
    await asyncio.to_thread(running.stop)

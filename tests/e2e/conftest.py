"""One running helpdesk shared by the end-to-end tests of a session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import System, start_system
from tests.servers import Servers


@pytest.fixture(scope="session")
async def system(
    tmp_path_factory: pytest.TempPathFactory, servers: Servers
) -> AsyncIterator[System]:
    running = await start_system(tmp_path_factory.mktemp("system"), servers)
    yield running
    await asyncio.to_thread(running.stop)

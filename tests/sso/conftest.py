"""One running system for every sign-in test (issue 28), with the production
default for second factors (agents and admins must have one): the session-wide
`system` of the other tests runs with HELPDESK_MFA_REQUIRED_ROLES set and empty
(docs/sso.md, "Tests, and why they turn enforcement off")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.browser.conftest import browser, screenshots
from tests.e2e.harness import System, start_system
from tests.servers import Servers

__all__ = ["browser", "screenshots"]


@pytest.fixture(scope="session")
async def sso_system(
    tmp_path_factory: pytest.TempPathFactory, servers: Servers
) -> AsyncIterator[System]:
    running = await start_system(
        tmp_path_factory.mktemp("sso-system"),
        servers,
        extra_env={"HELPDESK_MFA_REQUIRED_ROLES": "agent,admin"},
    )
    yield running
    await asyncio.to_thread(running.stop)

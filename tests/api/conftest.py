"""One running system for the API contract tests (schemathesis, the generated
client, webhooks), started as the e2e tests start it, with an employee, an agent
and an admin already in it.

Its per-address rate limits are raised: every request here comes from
127.0.0.1, and the fuzzer's hundreds of registrations and failed logins would
otherwise lock the other tests of this system out (docs/api.md, "Rate limits").
A 429 is still declared, and accepted by the checks, wherever one can happen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from helpdesk.contracts.actors import Role
from tests import operator
from tests.e2e.harness import System, start_system
from tests.servers import Servers

PASSWORD = "Kalimera-Helpdesk-2026!"

# Loopback receivers of the webhook tests are allowed by name (HELPDESK_WEBHOOK_ALLOWED_HOSTS);
# every other private, loopback or link-local target stays refused.
API_ENV = {
    "HELPDESK_LOGIN_ADDRESS_LIMIT": "100000",
    "HELPDESK_REGISTRATION_ADDRESS_LIMIT": "100000",
    "HELPDESK_RECOVERY_LIMIT": "100000",
    "HELPDESK_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "HELPDESK_WEBHOOK_RETRY_FIRST_SECONDS": "0.2",
    "HELPDESK_WEBHOOK_RETRY_MAX_SECONDS": "1",
    # A failing endpoint is disabled after this (a day in production).
    "HELPDESK_WEBHOOK_RETRY_SECONDS": "8",
}


@dataclass(frozen=True)
class Caller:
    role: Role
    username: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_user(system: System, username: str, role: Role) -> str:
    """A user made by the operator (CLI's command over NATS), active at once."""
    created = await operator.create_user(
        system.servers,
        username,
        role=role,
        name=f"Δοκιμή {role.value}",
        email=f"{username}@helpdesk.example",
        password=PASSWORD,
        locale="el",
    )
    return str(created.user_id)


async def log_in(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/api/v1/sessions", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
async def api_system(
    tmp_path_factory: pytest.TempPathFactory, servers: Servers
) -> AsyncIterator[System]:
    running = await start_system(tmp_path_factory.mktemp("api"), servers, extra_env=API_ENV)
    yield running
    await asyncio.to_thread(running.stop)


@pytest.fixture(scope="session")
async def callers(api_system: System) -> dict[Role, Caller]:
    """An employee (customer), an agent and an admin, each logged in."""
    found: dict[Role, Caller] = {}
    async with httpx.AsyncClient(base_url=api_system.url, timeout=20) as client:
        for role in (Role.CUSTOMER, Role.AGENT, Role.ADMIN):
            username = f"api{role.value}"
            user_id = await create_user(api_system, username, role)
            found[role] = Caller(role, username, user_id, await log_in(client, username))
    return found

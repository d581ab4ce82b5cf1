"""The operator CLI's people and queue commands against the running system."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.e2e.harness import System
from tests.e2e.test_cli import helpdesk

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


async def test_set_roles_queue_members_and_deactivate_from_the_cli(system: System) -> None:
    username = f"cli_{uuid.uuid4().hex[:6]}"
    created = await helpdesk(
        system,
        "create-user",
        "--name",
        "Νίκος Agent",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        password=PASSWORD,
    )
    assert created.returncode == 0, created.stderr

    roles = await helpdesk(system, "set-roles", username, "agent")
    assert roles.returncode == 0, roles.stderr
    assert roles.stdout.strip() == f"{username} now has roles agent"

    # The tickets service learns of the new agent from identity's events.
    for _ in range(50):
        members = await helpdesk(system, "queues", "incidents", "--set", username)
        if members.returncode == 0:
            break
        await asyncio.sleep(0.2)
    assert members.returncode == 0, members.stderr
    assert members.stdout.strip() == f"incidents\tround_robin\t{username}"
    listed = await helpdesk(system, "queues")
    assert "service-desk\tleast_open" in listed.stdout

    emptied = await helpdesk(system, "queues", "incidents", "--set")
    assert emptied.stdout.strip() == "incidents\tround_robin\t-"

    off = await helpdesk(system, "deactivate-user", username)
    assert off.returncode == 0, off.stderr
    assert off.stdout.startswith(f"{username}: deactivated")
    async with httpx.AsyncClient(base_url=system.url) as client:
        login = await client.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD}
        )
        assert login.status_code == 403
        on = await helpdesk(system, "reactivate-user", username)
        assert on.stdout.startswith(f"{username}: active")
        login = await client.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD}
        )
        assert login.status_code == 200

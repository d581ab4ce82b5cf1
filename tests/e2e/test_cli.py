"""The `helpdesk` operator CLI against the running system."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.e2e.harness import System

pytestmark = pytest.mark.e2e


async def helpdesk(
    system: System, *args: str, password: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HELPDESK_NATS_URL": system.nats.url,
        "HELPDESK_NATS_CREDS": str(system.servers.nats_keys["operator"]),
        "HELPDESK_NEW_PASSWORD": password,
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "helpdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_create_the_first_admin_then_grant_agent_and_log_in(system: System) -> None:
    username = f"admin_{uuid.uuid4().hex[:6]}"
    password = "correct horse battery staple"
    created = await helpdesk(
        system,
        "create-user",
        "--name",
        "Άννα Διαχειρίστρια",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        "--role",
        "admin",
        password=password,
    )
    assert created.returncode == 0, created.stderr
    assert f"created {username}" in created.stdout

    granted = await helpdesk(system, "grant-role", username, "agent")
    assert granted.returncode == 0, granted.stderr
    assert "agent" in granted.stdout
    assert "admin" in granted.stdout

    async with httpx.AsyncClient(base_url=system.url) as client:
        login = await client.post(
            "/api/v1/sessions", json={"username": username, "password": password}
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert set(me.json()["roles"]) >= {"admin", "agent"}


async def test_bad_input_is_one_line_and_a_failure_status(system: System) -> None:
    missing = await helpdesk(system, "grant-role", f"nobody_{uuid.uuid4().hex[:6]}", "agent")
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("helpdesk: ")

    weak = await helpdesk(
        system,
        "create-user",
        "--name",
        "X",
        "--username",
        f"u_{uuid.uuid4().hex[:6]}",
        "--email",
        "x@example.com",
        password="short",
    )
    assert weak.returncode == 1
    assert weak.stderr.startswith("helpdesk: ")
    assert weak.stderr.count("\n") == 1


async def test_dead_letters_and_projection_rebuild(system: System) -> None:
    listed = await helpdesk(system, "dead-letters", "notifier")
    assert listed.returncode == 0, listed.stderr
    assert "no dead letters" in listed.stdout or "\t" in listed.stdout

    rebuilt = await helpdesk(system, "rebuild-projections", "tickets")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "events replayed" in rebuilt.stdout

    # Everything this system stored is sealed already: the migration finds nothing.
    for service in ("tickets", "identity"):
        migrated = await helpdesk(system, "privacy-migrate", service)
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stdout.strip() == f"{service}: 0 events resealed (0 values)"

    unknown = await helpdesk(system, "redrive", "notifier", "999999")
    assert unknown.returncode == 1
    assert "not_found" in unknown.stderr


async def test_the_cli_with_another_identitys_key_is_refused(system: System) -> None:
    """Only the operator may publish operator commands: the gateway's key is refused
    by NATS at once (not after a timeout), and a key NATS does not know cannot connect."""
    env = {**os.environ, "HELPDESK_NATS_URL": system.nats.url}

    def run(creds: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "helpdesk.cli", *args],
            env={**env, "HELPDESK_NATS_CREDS": creds},
            capture_output=True,
            text=True,
            timeout=20,
        )

    def assert_refused(result: subprocess.CompletedProcess[str], subject: str) -> None:
        assert result.returncode == 1
        assert "NATS refused: permissions violation for" in result.stderr, result.stderr
        # The server reports whichever it checks first: the publish on the
        # operator's subject, or the subscription to the operator's reply inbox.
        assert subject in result.stderr or "_inbox.operator." in result.stderr, result.stderr

    gateway = str(system.servers.nats_keys["gateway"])
    refused = await asyncio.to_thread(run, gateway, "dead-letters", "notifier")
    assert_refused(refused, "notifier.admin.dead_letters.list")
    granted = await asyncio.to_thread(run, gateway, "grant-role", "nobody", "admin")
    assert_refused(granted, "identity.cmd.grant_role")

    from helpdesk.servicekit import nats_auth

    stranger = system.workdir / "stranger.nk"
    nats_auth.write_seed(stranger, nats_auth.new_seed())
    unknown = await asyncio.to_thread(run, str(stranger), "dead-letters", "notifier")
    assert unknown.returncode == 1
    assert "refused the operator key" in unknown.stderr, unknown.stderr

"""The deploy-time setup step (init container in every replica) is safe to run
from several replicas at once: each migration applied once, streams declared."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import nats
import pytest

from helpdesk.devstack.servers import NatsServer
from tests.deploy.manifests import DEPLOY
from tests.e2e.harness import create_database, with_database
from tests.servers import Servers

pytestmark = [pytest.mark.deploy, pytest.mark.integration]

SETUP = DEPLOY / "docker" / "helpdesk_setup.py"
REPLICAS = 4


async def run_setup(service: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SETUP),
        service,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def test_setup_from_several_replicas_at_once(servers: Servers, tmp_path: Path) -> None:
    # A database and a NATS server of its own: the step uses the real schema and stream names.
    database = f"setup_{uuid.uuid4().hex[:8]}"
    await create_database(servers.database_url, database)
    url = with_database(servers.database_url, database)
    server = NatsServer(tmp_path / "nats", config_file=servers.auth_config).start()
    try:
        env = {
            "HELPDESK_DATABASE_URL": url,
            "HELPDESK_NATS_URL": server.url,
            "HELPDESK_NATS_STREAM_REPLICAS": "1",
            "HELPDESK_NATS_CREDS": str(servers.nats_keys["tickets"]),
        }
        gateway_env = {**env, "HELPDESK_NATS_CREDS": str(servers.nats_keys["gateway"])}
        results = await asyncio.gather(
            *(run_setup("tickets", env) for _ in range(REPLICAS)), run_setup("gateway", gateway_env)
        )
        for code, out in results:
            assert code == 0, out
        applied = [out for _, out in results if "migrations applied: [" in out]
        assert len(applied) == 1, "exactly one replica applies the migrations"

        conn = await asyncpg.connect(url)
        try:
            names = await conn.fetch("SELECT name FROM tickets.schema_migrations")
        finally:
            await conn.close()
        listed = [r["name"] for r in names]
        assert len(listed) == len(set(listed)) > 1

        nc = await nats.connect(server.url, **servers.nats_options())
        try:
            js = nc.jetstream()
            for stream in ("IDENTITY", "TICKETS"):
                info = await js.stream_info(stream)
                assert info.config.num_replicas == 1
        finally:
            await nc.drain()

        # Run again: nothing left to do, still succeeds.
        code, out = await run_setup("tickets", env)
        assert code == 0, out
        assert "migrations applied: none" in out, out
    finally:
        server.stop()

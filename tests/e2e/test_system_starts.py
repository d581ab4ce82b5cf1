"""The whole system comes up and answers on its ops endpoints."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import System, create_database, with_database
from tests.servers import Servers

pytestmark = pytest.mark.e2e


async def test_every_service_is_ready_and_exposes_metrics(system: System) -> None:
    assert "gateway" in system.processes
    async with httpx.AsyncClient() as client:
        for process in system.processes.values():
            ready = await client.get(f"{process.ops_url}/readyz")
            assert ready.status_code == 200, (process.name, ready.text)
            metrics = await client.get(f"{process.ops_url}/metrics")
            assert "python_info" in metrics.text


async def test_the_public_port_serves_no_ops_endpoints(system: System) -> None:
    """Attack: read /metrics (request counts, paths, internals) or the readiness
    details from the internet. The gateway serves them on HELPDESK_OPS_PORT only;
    its public port answers 404 for all three."""
    gateway = system.processes["gateway"]
    assert gateway.ops_port is not None
    assert gateway.ops_port != gateway.port
    async with httpx.AsyncClient(base_url=system.url) as client:
        for path in ("/metrics", "/readyz", "/healthz"):
            assert (await client.get(path)).status_code == 404, path
    async with httpx.AsyncClient(base_url=gateway.ops_url) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"


async def test_unknown_api_path_is_a_problem_document(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.url) as client:
        response = await client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert response.headers["X-Correlation-Id"]


async def test_a_well_formed_correlation_id_is_kept_and_any_other_replaced(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.url) as client:
        kept = await client.get("/api/v1/priorities", headers={"X-Correlation-Id": "req-42.a_b:c"})
        replaced = await client.get(
            "/api/v1/priorities", headers={"X-Correlation-Id": "x" * 65 + "<script>"}
        )
    assert kept.headers["X-Correlation-Id"] == "req-42.a_b:c"
    assert replaced.status_code == 200
    assert replaced.headers["X-Correlation-Id"] != "x" * 65 + "<script>"
    assert len(replaced.headers["X-Correlation-Id"]) == 36  # a fresh UUID


async def test_a_start_that_fails_stops_what_it_started(tmp_path: Path, servers: Servers) -> None:
    """The mail gateway's SMTP port is taken (what an outgoing connection did in a
    benchmark run): the start fails, and no server or service it started is left
    running."""
    database = f"e2e_{uuid.uuid4().hex[:8]}"
    await create_database(servers.database_url, database)
    system = System(tmp_path, servers, with_database(servers.database_url, database))
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", system.mailgate_port))
        squatter.listen()
        with pytest.raises(RuntimeError, match="mailgate exited"):
            await asyncio.to_thread(system.start)
    assert all(p.process is None for p in system.processes.values())
    for port in (system.nats.port, system.mail.port, system.gateway_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()

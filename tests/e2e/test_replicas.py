"""Two processes of every service on one NATS and one PostgreSQL: each command is
handled once, each event consumed once (one mail per event), each SLA warning
fires once, and when the active outbox relay is killed (`kill -9`) the other
replica takes over with nothing lost or duplicated."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import nats
import pytest
import yaml

from helpdesk.contracts.actors import Role
from tests import operator
from tests.e2e.harness import System, start_system
from tests.eventually import eventually
from tests.servers import Servers

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
ONCALL = "oncall@helpdesk.example"
POLICY = Path(__file__).resolve().parents[2] / "services/tickets/src/helpdesk/tickets/routing.yaml"
LEADER_LINE = "outbox relay is the active publisher"


def fast_urgent_policy(path: Path) -> Path:
    """The shipped policy, with urgent tickets warned after 12 s and breached after 15 s."""
    policy = yaml.safe_load(POLICY.read_text())
    policy["priorities"]["urgent"]["first_response"] = "0.25 minutes"
    path.write_text(yaml.safe_dump(policy))
    return path


async def create_user(system: System, username: str, role: Role) -> None:
    await operator.create_user(system.servers, username, role=role, password=PASSWORD)


class Gateways:
    """Requests spread over both gateway replicas, in turn."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.turn = 0
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        self.token = ""

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.turn += 1
        url = self.urls[self.turn % len(self.urls)] + path
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.http.post(url, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def submit(self, priority: str, tag: str) -> str | None:
        """The new ticket's number; None if the request failed (a replica was killed)."""
        body = {"subject": f"[{tag}] {priority}", "description": "Down.", "priority": priority}
        for _ in range(50):  # identity's events reach both tickets replicas shortly
            status, answer = await self.post("/api/v1/tickets", body)
            if status != 503 or answer.get("code") != "unavailable":
                break
            await asyncio.sleep(0.2)
        return str(answer["number"]) if status == 201 else None


def numbers_in_mails(system: System, to: str) -> Counter[str]:
    import re

    found: Counter[str] = Counter()
    for message in system.mails_to(to):
        match = re.search(r"HD-\d{4}-\d{6}", str(message["Subject"]))
        if match:
            found[match.group()] += 1
    return found


def log_of(system: System, key: str) -> str:
    return system.processes[key].log_path.read_text(errors="replace")


async def test_two_replicas_of_every_service(tmp_path: Path, servers: Servers) -> None:
    env = {
        "HELPDESK_ROUTING_POLICY": str(fast_urgent_policy(tmp_path / "policy.yaml")),
        "HELPDESK_SLA_MONITOR_INTERVAL": "0.5",
    }
    system = await start_system(tmp_path, servers, replicas=2, extra_env=env)
    gateways = Gateways(system.gateway_urls)
    db = await asyncpg.connect(system.env["HELPDESK_DATABASE_URL"])
    try:
        customer = f"cust{uuid.uuid4().hex[:6]}"
        await create_user(system, customer, Role.CUSTOMER)
        status, login = await gateways.post(
            "/api/v1/sessions", {"username": customer, "password": PASSWORD}
        )
        assert status == 200, login
        gateways.token = login["access_token"]
        customer_mail = f"{customer}@example.com"

        # 1. Commands: 30 normal and 4 urgent tickets, 6 at a time, through both gateways.
        gate = asyncio.Semaphore(6)

        async def one(priority: str) -> str | None:
            async with gate:
                return await gateways.submit(priority, "replicas")

        first = await asyncio.gather(*(one("normal") for _ in range(30)))
        urgent = await asyncio.gather(*(one("urgent") for _ in range(4)))
        accepted = [n for n in first + urgent if n]
        assert len(accepted) == 34
        assert len(set(accepted)) == 34
        # Both replicas of the tickets service handled submits (a queue group), each once.
        for key in system.replicas_of("tickets"):
            assert "ticket submitted" in log_of(system, key), key
        stored = await db.fetch(
            "SELECT data->>'number' AS number FROM tickets.events"
            " WHERE event_type = 'TicketSubmitted'"
        )
        assert sorted(r["number"] for r in stored) == sorted(accepted)

        # 2. Events: one confirmation mail per ticket, one page per urgent ticket,
        #    whichever notifier replica pulled it.
        await eventually(
            lambda: _exactly_once(numbers_in_mails(system, customer_mail), accepted), timeout=30
        )

        # 3. The SLA monitors of both replicas: each urgent ticket warned once, breached once.
        def sla_mails() -> bool:
            oncall = numbers_in_mails(system, ONCALL)
            for number in urgent:
                assert oncall[number] == 3, (number, oncall[number])  # page, warning, breach
            return True

        await eventually(sla_mails, timeout=40, interval=0.25)
        alarms = await db.fetch(
            "SELECT event_type, count(*) AS n FROM tickets.events"
            " WHERE event_type IN ('TicketSlaWarning', 'TicketSlaBreached')"
            " GROUP BY event_type, stream_id"
        )
        assert len(alarms) == 8
        assert {r["n"] for r in alarms} == {1}

        # 4. One relay publishes; kill -9 it in the middle of a burst; the other takes over.
        leaders = [k for k in system.replicas_of("tickets") if LEADER_LINE in log_of(system, k)]
        assert len(leaders) == 1, leaders
        leader = leaders[0]
        (survivor,) = (k for k in system.replicas_of("tickets") if k != leader)
        burst = [asyncio.create_task(one("normal")) for _ in range(40)]
        await asyncio.sleep(0.3)
        system.processes[leader].kill()
        after_kill = [n for n in await asyncio.gather(*burst) if n]
        assert after_kill, "no submit succeeded after the kill"
        await eventually(lambda: _taken_over(system, survivor), timeout=20)

        # Nothing lost, nothing twice: every submitted event is in the stream once
        # and mailed once, including those committed just before the kill.
        submitted = [
            r["number"]
            for r in await db.fetch(
                "SELECT data->>'number' AS number FROM tickets.events"
                " WHERE event_type = 'TicketSubmitted'"
            )
        ]
        assert set(after_kill) <= set(submitted)
        await eventually(
            lambda: _exactly_once(numbers_in_mails(system, customer_mail), submitted), timeout=30
        )
        assert await db.fetchval("SELECT count(*) FROM tickets.outbox") == 0
        events = await db.fetchval("SELECT count(*) FROM tickets.events")
        nc = await nats.connect(system.servers.nats_url, **system.servers.nats_options())
        try:
            info = await nc.jetstream().stream_info("TICKETS")
        finally:
            await nc.close()
        assert info.state.messages == events
    finally:
        await db.close()
        await gateways.http.close()
        await asyncio.to_thread(system.stop)


def _exactly_once(mailed: Counter[str], numbers: list[str]) -> bool:
    missing = [n for n in numbers if mailed[n] == 0]
    assert not missing, f"{len(missing)} tickets without a mail yet"
    twice = {n: c for n, c in mailed.items() if c > 1}
    assert not twice, f"mailed more than once: {twice}"
    return True


def _taken_over(system: System, survivor: str) -> bool:
    assert LEADER_LINE in log_of(system, survivor)
    return True

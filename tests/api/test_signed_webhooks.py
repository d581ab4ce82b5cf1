"""Signed webhooks end to end: an admin registers a local plain-http receiver
(allowed by HELPDESK_WEBHOOK_ALLOWED_HOSTS in tests/api/conftest.py), a
submitted ticket reaches it signed (verified with docs/api.md's verifier), a
receiver that answers 500 three times gets it on the fourth attempt, the
delivery log says so and a re-send comes again with the same id; the cloud
metadata address is refused at registration."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from helpdesk.contracts.actors import Role
from helpdesk.devstack.servers import free_port
from tests.api.conftest import Caller
from tests.api.verifier import verify
from tests.e2e.harness import System, mail_text
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


@dataclass
class Receiver:
    """Answers 500 to the first `failures` requests, then 204; keeps every request."""

    failures: int
    port: int = field(default_factory=free_port)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/helpdesk-events"

    async def handle(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append((headers, await request.read()))
        return web.Response(status=500 if len(self.requests) <= self.failures else 204)


@asynccontextmanager
async def listening(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/helpdesk-events", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with listening(Receiver(failures=3)) as found:
        yield found


async def test_a_submitted_ticket_arrives_signed_on_the_fourth_try(
    api_system: System, callers: dict[Role, Caller], receiver: Receiver
) -> None:
    admin, customer = callers[Role.ADMIN], callers[Role.CUSTOMER]
    async with httpx.AsyncClient(base_url=api_system.url, timeout=20) as client:
        created = await client.post(
            "/api/v1/webhooks",
            headers=admin.headers,
            json={"url": receiver.url, "event_types": ["ticket.submitted"]},
        )
        assert created.status_code == 201, created.text
        webhook = created.json()
        assert webhook["secret"].startswith("whsec_")
        listed = await client.get("/api/v1/webhooks", headers=admin.headers)
        assert "secret" not in listed.text

        submitted = await client.post(
            "/api/v1/tickets",
            headers=customer.headers,
            json={"subject": "Ο εκτυπωτής", "description": "Δεν τυπώνει.", "priority": "high"},
        )
        assert submitted.status_code == 201, submitted.text
        ticket_id = submitted.json()["ticket_id"]

        def fourth_attempt() -> list[tuple[dict[str, str], bytes]]:
            assert len(receiver.requests) >= 4
            return receiver.requests

        attempts = await eventually(fourth_attempt, timeout=30, what="the fourth attempt")
        assert {headers["webhook-id"] for headers, _ in attempts} == {attempts[0][0]["webhook-id"]}
        for headers, body in attempts:
            assert verify(webhook["secret"], headers, body)
            assert not verify(webhook["secret"], headers, body.replace(b"high", b"low"))
        payload = json.loads(attempts[-1][1])
        assert payload["type"] == "ticket.submitted"
        assert payload["data"]["ticket_id"] == ticket_id
        assert "description" not in payload["data"]  # personal data only if chosen
        assert "Δεν τυπώνει" not in attempts[-1][1].decode()

        log_url = f"/api/v1/webhooks/{webhook['webhook_id']}/deliveries"

        async def delivered() -> dict[str, Any]:
            items = (await client.get(log_url, headers=admin.headers)).json()["items"]
            assert items[0]["status"] == "delivered", items
            return dict(items[0])

        delivery = await eventually(delivered, timeout=10, what="the delivery log")
        assert delivery["attempts"] == 4
        assert delivery["delivery_id"] == attempts[0][0]["webhook-id"]

        resent = await client.post(
            f"{log_url}/{delivery['delivery_id']}/resend", headers=admin.headers
        )
        assert resent.status_code == 200, resent.text

        def fifth() -> bool:
            assert len(receiver.requests) == 5
            return receiver.requests[-1][0]["webhook-id"] == delivery["delivery_id"]

        assert await eventually(fifth, timeout=10, what="the re-sent delivery")

        gone = await client.delete(
            f"/api/v1/webhooks/{webhook['webhook_id']}", headers=admin.headers
        )
        assert gone.status_code == 204


async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_admin_mailed(
    api_system: System, callers: dict[Role, Caller]
) -> None:
    """The retry period is 8 s here (tests/api/conftest.py), a day in production."""
    admin, customer = callers[Role.ADMIN], callers[Role.CUSTOMER]
    async with (
        listening(Receiver(failures=10**6)) as failing,
        httpx.AsyncClient(base_url=api_system.url, timeout=20) as client,
    ):
        created = await client.post(
            "/api/v1/webhooks",
            headers=admin.headers,
            json={
                "url": failing.url,
                "event_types": ["ticket.status_changed", "ticket.submitted"],
            },
        )
        assert created.status_code == 201, created.text
        webhook_id = created.json()["webhook_id"]
        submitted = await client.post(
            "/api/v1/tickets",
            headers=customer.headers,
            json={"subject": "Οθόνη", "description": "Σβήνει.", "priority": "low"},
        )
        assert submitted.status_code == 201, submitted.text

        async def disabled() -> dict[str, Any]:
            hooks = (await client.get("/api/v1/webhooks", headers=admin.headers)).json()
            found = next(h for h in hooks["items"] if h["webhook_id"] == webhook_id)
            assert not found["enabled"], found
            return dict(found)

        found = await eventually(disabled, timeout=30, what="the endpoint disabled")
        assert "HTTP 500" in found["disabled_reason"]
        log = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=admin.headers)
        assert log.json()["items"][0]["status"] == "failed"
        assert len(failing.requests) >= 3
        mail = await asyncio.to_thread(
            api_system.wait_for_mail,
            f"{admin.username}@helpdesk.example",
            lambda m: failing.url in mail_text(m),
            20,
        )
        assert "webhook" in str(mail["Subject"])
        # The helpdesk's on-call address is told too, in the service desk's Greek.
        oncall = await asyncio.to_thread(
            api_system.wait_for_mail,
            "oncall@helpdesk.example",
            lambda m: failing.url in mail_text(m),
            20,
        )
        assert "webhook" in str(oncall["Subject"])


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "http://10.0.0.1/hook",
    ],
)
async def test_the_metadata_and_private_addresses_are_refused_at_registration(
    api_system: System, callers: dict[Role, Caller], url: str
) -> None:
    async with httpx.AsyncClient(base_url=api_system.url, timeout=20) as client:
        refused = await client.post(
            "/api/v1/webhooks",
            headers=callers[Role.ADMIN].headers,
            json={"url": url, "event_types": ["ticket.submitted"]},
        )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "webhook_url_refused"
    assert problem["errors"][0]["field"] == "url"


async def test_only_admins_register_webhooks(
    api_system: System, callers: dict[Role, Caller]
) -> None:
    async with httpx.AsyncClient(base_url=api_system.url, timeout=20) as client:
        for role in (Role.CUSTOMER, Role.AGENT):
            answer = await client.post(
                "/api/v1/webhooks",
                headers=callers[role].headers,
                json={"url": "https://hooks.example/in", "event_types": ["ticket.submitted"]},
            )
            assert answer.status_code == 403, answer.text

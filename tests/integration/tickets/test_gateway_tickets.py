"""The /api/v1 ticket routes in process (FastAPI app, real JWT verification)
in front of the tickets service on real NATS and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.gateway.bootstrap import create_app
from helpdesk.gateway.settings import Settings as GatewaySettings
from tests.integration.tickets.conftest import Tickets
from tests.tokens import headers_for, public_key

pytestmark = pytest.mark.integration


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def auth(self, actor: Actor) -> dict[str, str]:
        return headers_for(actor)  # signed with the key the tickets service trusts


@pytest.fixture
async def api(tickets: Tickets) -> AsyncIterator[Api]:
    app = create_app(GatewaySettings(jwt_public_key=public_key(), nats_url="nats://unused:1"))
    app.state.gateway.nats = tickets.nc  # the lifespan (which would connect) does not run here
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield Api(client)


async def test_submit_and_read_back_over_http(tickets: Tickets, api: Api) -> None:
    maria = await tickets.user("Μαρία")
    response = await api.client.post(
        "/api/v1/tickets",
        headers=api.auth(maria),
        json={
            "subject": "Εκτυπωτής",
            "description": "Δεν τυπώνει.",
            "priority": "urgent",
            "category": "hardware",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["queue"] == "incidents"
    assert body["number"].startswith("HD-2026-")
    assert response.headers["Location"] == f"/api/v1/tickets/{body['ticket_id']}"
    detail = await api.client.get(f"/api/v1/tickets/{body['ticket_id']}", headers=api.auth(maria))
    assert detail.status_code == 200
    assert detail.json()["timeline"][0]["kind"] == "TicketSubmitted"


async def test_priorities_need_no_login(api: Api) -> None:
    response = await api.client.get("/api/v1/priorities")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["label"]["el"] for i in items] == [
        "Χαμηλή",
        "Κανονική",
        "Υψηλή",
        "Επείγουσα",
        "Κρίσιμη",
    ]
    assert items[0]["description"]["el"].startswith("Όταν το πρόβλημα δεν είναι")


async def test_problem_details_for_errors(tickets: Tickets, api: Api) -> None:
    maria = await tickets.user("Μαρία")
    nikos = await tickets.user("Νίκος")
    agent = await tickets.user("Agent", Role.AGENT)
    unauthenticated = await api.client.post("/api/v1/tickets", json={})
    assert unauthenticated.status_code == 401

    bad = await api.client.post(
        "/api/v1/tickets",
        headers=api.auth(maria),
        json={"subject": "a\x1bb", "description": "x" * 20_001, "priority": "asap"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"].split(".")[-1] for e in bad.json()["errors"]}
    assert {"subject", "description", "priority"} <= fields
    assert await tickets.count("events") == 0

    ticket = (
        await api.client.post(
            "/api/v1/tickets",
            headers=api.auth(maria),
            json={"subject": "ok", "description": "ok", "priority": "low"},
        )
    ).json()
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    assert (await api.client.get(path, headers=api.auth(nikos))).status_code == 404
    other = await tickets.user("Agent B", Role.AGENT)
    # In order on the one ticket: (who, action, body, status, the refusal's code if checked).
    steps: list[tuple[Actor, str, dict[str, object], int, str | None]] = [
        (maria, "assign", {}, 403, "forbidden"),
        (maria, "priority", {"priority": "critical"}, 403, None),
        (maria, "messages", {"body": "x", "internal": True}, 403, None),
        (agent, "assign", {}, 200, None),
        (other, "assign", {}, 409, "already_assigned"),
        (agent, "status", {"status": "closed"}, 409, "invalid_transition"),
        (maria, "status", {"status": "closed"}, 200, None),
        (maria, "messages", {"body": "x"}, 409, "ticket_closed"),
    ]
    for who, action, body, status, code in steps:
        response = await api.client.post(f"{path}/{action}", headers=api.auth(who), json=body)
        assert response.status_code == status, (action, response.text)
        if code is not None:
            assert response.json()["code"] == code

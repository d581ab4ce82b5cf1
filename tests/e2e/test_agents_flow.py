"""The agents' workflow end to end (issue 15): queue members set by an admin,
availability, automatic assignment under least_open and round_robin, the
assignee's mail, and an admin deactivating an agent — sessions end, their open
tickets go back and are assigned again — while agents get 403 on admin routes."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from helpdesk.contracts.actors import Role
from tests import operator
from tests.e2e.harness import System
from tests.e2e.test_tickets_flow import (
    PASSWORD,
    auth,
    login,
    register_customer,
    retried,
    submit,
    wait_mail,
)
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


async def create_user(system: System, username: str, name: str, role: Role) -> str:
    created = await operator.create_user(
        system.servers,
        username,
        role=role,
        name=name,
        email=f"{username}@helpdesk.example",
        password=PASSWORD,
        locale="el",
    )
    return str(created.user_id)


async def new_admin(system: System, client: httpx.AsyncClient, tag: str) -> tuple[str, str]:
    """A new Greek admin's id and access token."""
    admin_id = await create_user(system, f"admin{tag}", "Διαχειρίστρια", Role.ADMIN)
    return admin_id, await login(client, f"admin{tag}")


async def session(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/sessions", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def signed_in_agent(
    system: System, client: httpx.AsyncClient, username: str, name: str
) -> str:
    """A new agent's access token."""
    await create_user(system, username, name, Role.AGENT)
    return str((await session(client, username))["access_token"])


async def submit_ticket(client: httpx.AsyncClient, token: str, subject: str, priority: str) -> str:
    """A ticket's id, submitted by the holder of `token`."""
    body = {"subject": subject, "description": "x", "priority": priority}
    response = await submit(client, token, body)
    assert response.status_code == 201, response.text
    return str(response.json()["ticket_id"])


async def put_members(
    client: httpx.AsyncClient, token: str, queue: str, ids: list[str]
) -> httpx.Response:
    # Until identity's UserRegistered reaches it, the tickets service knows no such agent.
    return await retried(
        lambda: client.put(
            f"/api/v1/queues/{queue}/members", headers=auth(token), json={"agent_ids": ids}
        ),
        while_status=422,
    )


async def test_queues_availability_assignment_and_deactivation(system: System) -> None:
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        await create_user(system, f"admin{tag}", "Διαχειριστής", Role.ADMIN)
        a_id = await create_user(system, f"alpha{tag}", "Άλφα Agent", Role.AGENT)
        b_id = await create_user(system, f"beta{tag}", "Βήτα Agent", Role.AGENT)
        admin = (await session(client, f"admin{tag}"))["access_token"]
        alpha_session = await session(client, f"alpha{tag}")
        alpha = alpha_session["access_token"]
        beta = (await session(client, f"beta{tag}"))["access_token"]
        _, customer = await register_customer(system, client, tag)

        # Agents get 403 on admin routes; customers on availability.
        forbidden = await client.put(
            "/api/v1/queues/service-desk/members", headers=auth(alpha), json={"agent_ids": []}
        )
        assert forbidden.status_code == 403, forbidden.text
        assert forbidden.json()["code"] == "forbidden"
        for path in ("deactivate", "reactivate"):
            refused = await client.post(f"/api/v1/users/{b_id}/{path}", headers=auth(alpha))
            assert refused.status_code == 403, refused.text
        assert (await client.get("/api/v1/users", headers=auth(alpha))).status_code == 403
        away_customer = await client.put(
            "/api/v1/me/availability", headers=auth(customer), json={"available": False}
        )
        assert away_customer.status_code == 403

        # Both agents in both queues; beta is away.
        for queue in ("service-desk", "incidents"):
            response = await put_members(client, admin, queue, [a_id, b_id])
            assert response.status_code == 200, response.text
            assert {m["user_id"] for m in response.json()["members"]} == {a_id, b_id}
        listed = await client.get("/api/v1/queues", headers=auth(alpha))
        assert {q["queue"]: q["assignment"] for q in listed.json()["items"]} == {
            "service-desk": "least_open",
            "incidents": "round_robin",
        }
        away = await client.put(
            "/api/v1/me/availability", headers=auth(beta), json={"available": False}
        )
        assert away.status_code == 200, away.text

        # least_open: five tickets, all to the one available agent.
        numbers = [
            await submit_ticket(client, customer, f"[{tag}] least {n}", "normal") for n in range(5)
        ]

        async def assignees(ids: list[str]) -> list[str | None]:
            found = []
            for ticket_id in ids:
                got = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(admin))
                assignee = got.json()["assignee"]
                found.append(assignee["user_id"] if assignee else None)
            return found

        async def all_assigned(ids: list[str]) -> list[str] | None:
            found = await assignees(ids)
            return None if None in found else [str(a) for a in found]

        least = await eventually(lambda: all_assigned(numbers), timeout=20, interval=0.2)
        assert least == [a_id] * 5
        detail = await client.get(f"/api/v1/tickets/{numbers[0]}", headers=auth(admin))
        assigned_entry = next(e for e in detail.json()["timeline"] if e["kind"] == "TicketAssigned")
        assert assigned_entry["details"]["policy"] == "least_open"

        # The assignee is told, in Greek.
        mail = await wait_mail(system, f"alpha{tag}@helpdesk.example", "Σας ανατέθηκε")
        assert "αυτόματα" in str(mail.get_body(("plain",)).get_content())

        # round_robin: both available, urgent tickets (incidents) alternate.
        back = await client.put(
            "/api/v1/me/availability", headers=auth(beta), json={"available": True}
        )
        assert back.status_code == 200
        urgent = []
        for n in range(4):
            ticket_id = await submit_ticket(client, customer, f"[{tag}] rr {n}", "urgent")
            urgent.append(ticket_id)
            await eventually(lambda ids=[ticket_id]: all_assigned(ids), timeout=20, interval=0.2)
        spread = Counter(await assignees(urgent))
        assert spread == Counter({a_id: 2, b_id: 2})

        # The admin deactivates alpha: the next request is refused, the refresh
        # token is dead, and alpha's open tickets go to beta.
        fresh = (await session(client, f"alpha{tag}"))["access_token"]
        assert (await client.get("/api/v1/me", headers=auth(fresh))).status_code == 200
        deactivated = await client.post(f"/api/v1/users/{a_id}/deactivate", headers=auth(admin))
        assert deactivated.status_code == 200, deactivated.text
        assert deactivated.json()["status"] == "deactivated"
        assert deactivated.json()["sessions_ended"] >= 1
        # At once, on every route (the gateway's revocation list), not only
        # once the event has reached the tickets service.
        me = await client.get("/api/v1/me", headers=auth(fresh))
        assert (me.status_code, me.json()["code"]) == (401, "token_revoked"), me.text
        listed = await client.get("/api/v1/tickets", headers=auth(fresh))
        assert (listed.status_code, listed.json()["code"]) == (401, "token_revoked")
        refresh = await client.post(
            "/api/v1/sessions/refresh", json={"refresh_token": alpha_session["refresh_token"]}
        )
        assert refresh.status_code == 401
        login = await client.post(
            "/api/v1/sessions", json={"username": f"alpha{tag}", "password": PASSWORD}
        )
        assert login.status_code == 403

        async def moved() -> bool:
            return set(await assignees(numbers + urgent)) == {b_id}

        assert await eventually(moved, timeout=20, interval=0.2), await assignees(numbers + urgent)
        detail = await client.get(f"/api/v1/tickets/{numbers[0]}", headers=auth(admin))
        kinds = [e["kind"] for e in detail.json()["timeline"]]
        assert kinds.count("TicketAssigned") == 2
        assert "TicketUnassigned" in kinds

        # Reactivated, alpha logs in again; the queues are emptied for the other tests.
        again = await client.post(f"/api/v1/users/{a_id}/reactivate", headers=auth(admin))
        assert again.json()["status"] == "active"
        assert (await session(client, f"alpha{tag}"))["access_token"]
        for queue in ("service-desk", "incidents"):
            emptied = await put_members(client, admin, queue, [])
            assert emptied.json()["members"] == []

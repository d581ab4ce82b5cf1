"""Tickets end to end on the real system (every service a process, real NATS,
PostgreSQL and an SMTP sink): one ticket per priority with due times from the
routing table, pages to on-call for urgent and critical only, and a whole
conversation — agent reply, customer answer, resolve, close — with its mails."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import unquote

import httpx
import pytest

from helpdesk.contracts.actors import Role
from helpdesk.contracts.priorities import Priority
from helpdesk.tickets.adapters.policy_file import load_policy
from tests import operator
from tests.e2e.harness import System, mail_text

pytestmark = pytest.mark.e2e

ONCALL = "oncall@helpdesk.example"
PASSWORD = "Kalimera-Helpdesk-2026!"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wait_mail(system: System, to: str, contains: str, timeout: float = 20.0) -> Any:
    return await asyncio.to_thread(
        system.wait_for_mail, to, lambda m: contains in str(m["Subject"]) + mail_text(m), timeout
    )


async def login(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/api/v1/sessions", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def register_customer(system: System, client: httpx.AsyncClient, tag: str) -> tuple[str, str]:
    username = f"maria{tag}"
    email = f"maria.{tag}@example.gr"
    response = await client.post(
        "/api/v1/accounts",
        json={
            "name": "Μαρία Παπαδοπούλου",
            "username": username,
            "email": email,
            "password": PASSWORD,
            "locale": "el",
        },
    )
    assert response.status_code == 202, response.text
    mail = await wait_mail(system, email, "token=")
    match = re.search(r"token=([^\s&\"<]+)", mail_text(mail))
    assert match
    activated = await client.post(
        "/api/v1/accounts/activate", json={"token": unquote(match.group(1)), "password": PASSWORD}
    )
    assert activated.status_code == 200, activated.text
    return email, await login(client, username)


async def create_agent(system: System, client: httpx.AsyncClient, tag: str) -> tuple[str, str]:
    username = f"agent{tag}"
    email = f"agent.{tag}@helpdesk.example"
    await operator.create_user(
        system.servers,
        username,
        role=Role.AGENT,
        name="Κώστας Agent",
        email=email,
        password=PASSWORD,
        locale="el",
    )
    return email, await login(client, username)


class People(NamedTuple):
    """Signed in: a customer (with her address), another customer, an agent."""

    email: str
    customer: str
    other_email: str
    other: str
    agent: str


async def two_customers_and_an_agent(system: System, client: httpx.AsyncClient, tag: str) -> People:
    """maria`tag`, maria`tag`x and agent`tag`, each registered (or created) and signed in."""
    email, customer = await register_customer(system, client, tag)
    other_email, other = await register_customer(system, client, f"{tag}x")
    _, agent = await create_agent(system, client, tag)
    return People(email, customer, other_email, other, agent)


async def retried(
    request: Callable[[], Awaitable[httpx.Response]], *, while_status: int
) -> httpx.Response:
    """`request`'s answer, asked again for ten seconds while it is `while_status`:
    identity's events may still be on their way to the tickets service."""
    for _ in range(50):
        response = await request()
        if response.status_code != while_status:
            return response
        await asyncio.sleep(0.2)
    return response


async def submit(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    """Submit, allowing for the moment before identity's events reach the tickets service."""
    return await retried(
        lambda: client.post("/api/v1/tickets", headers=auth(token), json=body), while_status=503
    )


async def resolve(client: httpx.AsyncClient, path: str, agent: str) -> None:
    """The agent sets the ticket at `path` (its API URL) resolved."""
    resolved = await client.post(f"{path}/status", headers=auth(agent), json={"status": "resolved"})
    assert resolved.status_code == 200, resolved.text


async def rate(
    client: httpx.AsyncClient, path: str, requester: str, rating: int, comment: str
) -> None:
    """The requester rates the (resolved) ticket at `path`."""
    rated = await client.post(
        f"{path}/satisfaction",
        headers=auth(requester),
        json={"rating": rating, "comment": comment},
    )
    assert rated.status_code == 201, rated.text


async def test_tickets_from_submission_to_close(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    policy = load_policy()
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        customer_email, customer = await register_customer(system, client, tag)
        agent_email, agent = await create_agent(system, client, tag)

        # One ticket per priority; the due times follow the routing table.
        tickets: dict[Priority, dict[str, Any]] = {}
        for priority in Priority:
            before = datetime.now(UTC)
            response = await submit(
                client,
                customer,
                {
                    "subject": f"[{tag}] {priority.value}",
                    "description": "Δεν λειτουργεί.",
                    "priority": priority.value,
                    "category": "network",
                },
            )
            after = datetime.now(UTC)
            assert response.status_code == 201, response.text
            ticket = response.json()
            tickets[priority] = ticket
            route = policy.route(priority)
            targets = policy.targets(priority)
            calendar = policy.calendar(priority)
            assert ticket["queue"] == route.queue
            assert re.fullmatch(r"HD-\d{4}-\d{6}", ticket["number"])
            for field, seconds in (
                ("first_response_due", targets.first_response),
                ("resolution_due", targets.resolution),
            ):
                due = datetime.fromisoformat(ticket[field])
                low, high = calendar.add(before, seconds), calendar.add(after, seconds)
                assert low - timedelta(seconds=1) <= due <= high + timedelta(seconds=1), field
        numbers = [t["number"] for t in tickets.values()]
        assert len(set(numbers)) == 5

        # Every requester confirmation arrives, in Greek with the priority's label...
        for ticket in tickets.values():
            mail = await wait_mail(system, customer_email, ticket["number"])
            assert "καταχωρήθηκε" in str(mail["Subject"])
        critical = tickets[Priority.CRITICAL]["number"]
        critical_mail = await wait_mail(system, customer_email, critical)
        assert "Προτεραιότητα: Κρίσιμη" in mail_text(critical_mail)
        # ...and on-call was paged for urgent and critical, and only for them.
        await wait_mail(system, ONCALL, tickets[Priority.URGENT]["number"])
        await wait_mail(system, ONCALL, tickets[Priority.CRITICAL]["number"])
        await asyncio.sleep(1.0)  # the pager had every chance to page the others too
        pages = [m for m in system.mails_to(ONCALL) if tag in str(m["Subject"])]
        assert sorted(str(m["Subject"]).split("]")[0] for m in pages) == ["[Επείγουσα", "[Κρίσιμη"]

        # The agent takes the normal ticket and answers; the customer gets the reply.
        normal = tickets[Priority.NORMAL]
        path = f"/api/v1/tickets/{normal['ticket_id']}"
        queue = await client.get(
            "/api/v1/tickets", headers=auth(agent), params={"priority": "normal"}
        )
        assert normal["ticket_id"] in [t["ticket_id"] for t in queue.json()["items"]]
        assigned = await client.post(f"{path}/assign", headers=auth(agent), json={})
        assert assigned.status_code == 200, assigned.text
        reply = await client.post(
            f"{path}/messages",
            headers=auth(agent),
            json={"body": f"Καλημέρα, δοκιμάστε επανεκκίνηση ({tag})."},
        )
        assert reply.status_code == 201, reply.text
        mail = await wait_mail(system, customer_email, f"επανεκκίνηση ({tag})")
        assert normal["number"] in str(mail["Subject"])

        # The customer answers; the assignee is told.
        answer = await client.post(
            f"{path}/messages", headers=auth(customer), json={"body": f"Δεν βοήθησε ({tag})."}
        )
        assert answer.status_code == 201, answer.text
        await wait_mail(system, agent_email, f"Δεν βοήθησε ({tag})")

        # Customers cannot act as agents, nor see someone else's ticket.
        forbidden = await client.post(
            f"{path}/priority", headers=auth(customer), json={"priority": "critical"}
        )
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"].startswith("application/problem+json")
        _, stranger = await register_customer(system, client, tag + "x")
        assert (await client.get(path, headers=auth(stranger))).status_code == 404

        # Resolved (mail), then closed by the customer.
        await resolve(client, path, agent)
        await wait_mail(system, customer_email, f"{normal['number']} επιλύθηκε")
        closed = await client.post(
            f"{path}/status", headers=auth(customer), json={"status": "closed"}
        )
        assert closed.status_code == 200
        assert closed.json()["status"] == "closed"

        detail = (await client.get(path, headers=auth(customer))).json()
        assert [e["kind"] for e in detail["timeline"]] == [
            "TicketSubmitted",
            "TicketAssigned",
            "TicketMessageAdded",
            "TicketMessageAdded",
            "TicketStatusChanged",
            "TicketStatusChanged",
        ]
        assert detail["first_responded_at"] is not None

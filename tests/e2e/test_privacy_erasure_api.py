"""Erasure end to end through the REST API and the CLI (issue 30, erasure;
docs/privacy.md, "Erasure from the portal, the API and the CLI"): Μαρία asks to
be erased, an admin sees her request and erases her with a reason; she can no
longer sign in and her old access token is void, a second erasure answers the
first one's time, her ticket keeps its number, priority and queue. A customer
gets 403 problems from the admins' routes, an admin erasing themselves 409, an
unknown id 404. The operator erases by username with `helpdesk erase-user`."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests import operator
from tests.e2e.harness import System
from tests.e2e.test_agents_flow import new_admin
from tests.e2e.test_cli import helpdesk
from tests.e2e.test_privacy_export import refused, ticket_of
from tests.e2e.test_tickets_flow import PASSWORD, auth, register_customer
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


async def test_a_customer_asks_an_admin_erases_and_she_is_gone(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        email, maria = await register_customer(system, client, tag)
        admin_id, admin = await new_admin(system, client, tag)
        maria_id = (await client.get("/api/v1/me", headers=auth(maria))).json()["user_id"]
        ticket = await ticket_of(client, maria, f"Εκτυπωτής {tag}", "Δεν τυπώνει.")

        # She asks, with a note; the answer is kept by nobody.
        asked = await client.post(
            "/api/v1/me/erasure-request",
            headers=auth(maria),
            json={"note": "Κλείνω τον λογαριασμό μου."},
        )
        assert asked.status_code == 202, asked.text
        assert asked.headers["cache-control"] == "no-store"
        assert asked.json()["user_id"] == maria_id
        assert asked.json()["status"] == "pending"

        # The admins' routes are not hers.
        refused(await client.get("/api/v1/erasure-requests", headers=auth(maria)), 403, "forbidden")
        refused(
            await client.post(
                f"/api/v1/users/{admin_id}/erase", headers=auth(maria), json={"reason": "μένω"}
            ),
            403,
            "forbidden",
        )

        # The admin sees her request.
        listed = await client.get("/api/v1/erasure-requests", headers=auth(admin))
        assert listed.status_code == 200, listed.text
        assert listed.headers["cache-control"] == "no-store"
        mine = [r for r in listed.json()["items"] if r["user_id"] == maria_id]
        assert len(mine) == 1
        assert mine[0]["name"] == "Μαρία Παπαδοπούλου"
        assert (mine[0]["username"], mine[0]["email"]) == (f"maria{tag}", email)
        assert mine[0]["note"] == "Κλείνω τον λογαριασμό μου."

        # Never themselves, never an unknown id, always a reason.
        reason = {"reason": "asked in the portal"}
        erase = f"/api/v1/users/{maria_id}/erase"
        own = await client.post(f"/api/v1/users/{admin_id}/erase", headers=auth(admin), json=reason)
        refused(own, 409, "conflict")
        unknown = await client.post(
            f"/api/v1/users/{uuid.uuid4()}/erase", headers=auth(admin), json=reason
        )
        refused(unknown, 404, "not_found")
        refused(await client.post(erase, headers=auth(admin), json={}), 422, "validation_error")

        erased = await client.post(erase, headers=auth(admin), json=reason)
        assert erased.status_code == 202, erased.text
        assert erased.headers["cache-control"] == "no-store"
        assert erased.json()["user_id"] == maria_id
        assert erased.json()["status"] == "erased"

        # She is gone: no sign-in, her token void, her request no longer pending.
        gone = await client.post(
            "/api/v1/sessions", json={"username": f"maria{tag}", "password": PASSWORD}
        )
        refused(gone, 401, "invalid_credentials")

        async def token_void() -> bool:
            return (await client.get("/api/v1/me", headers=auth(maria))).status_code == 401

        await eventually(token_void, what="her access token refused")
        listed = await client.get("/api/v1/erasure-requests", headers=auth(admin))
        assert maria_id not in {r["user_id"] for r in listed.json()["items"]}

        # Erasing her again changes nothing and answers the first erasure.
        again = await client.post(erase, headers=auth(admin), json=reason)
        assert again.status_code == 202, again.text
        assert again.json() == erased.json()

        # Her ticket stays for the reports, naming nobody.
        async def anonymous_ticket() -> dict[str, Any]:
            found = await client.get(f"/api/v1/tickets/{ticket['ticket_id']}", headers=auth(admin))
            assert found.status_code == 200, found.text
            body: dict[str, Any] = found.json()
            assert not body["requester"]["name"], body["requester"]  # None: erased
            return body

        kept = await eventually(anonymous_ticket, timeout=30, what="her ticket scrubbed")
        assert (kept["number"], kept["priority"], kept["queue"]) == (
            ticket["number"],
            ticket["priority"],
            ticket["queue"],
        )
        assert email not in str(kept)


async def test_the_operator_erases_by_username_in_one_line(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    username = f"nikos{tag}"
    created = await operator.create_user(system.servers, username, password=PASSWORD)

    short = await helpdesk(system, "erase-user", username, "--reason", "x")
    assert short.returncode == 1
    assert short.stderr.count("\n") == 1
    assert short.stderr.startswith("helpdesk: reason:")

    done = await helpdesk(system, "erase-user", username, "--reason", "asked by letter")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"erased {username} ({created.user_id}) at ")
    assert done.stdout.count("\n") == 1

    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        gone = await client.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD}
        )
    refused(gone, 401, "invalid_credentials")

    # The name is forgotten with the person: a second erasure finds nobody.
    again = await helpdesk(system, "erase-user", username, "--reason", "asked by letter")
    assert again.returncode == 1
    assert again.stderr.startswith("helpdesk: not_found: ")
    assert again.stderr.count("\n") == 1

"""LDAP / Active Directory end to end (issue 28): people sign in with the
directory's password and land on the portal with the role their groups give; a
local account with the same address is joined only with its own password; a
person removed from the directory is deactivated by the next sync, their session
ends and their open tickets are handed back. An admin from the directory sees
each user's source and second factors on the users page."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import nats
import pyotp
import pytest

from helpdesk.contracts.actors import Role
from helpdesk.contracts.organisation import SyncDirectory
from helpdesk.servicekit.requests import ask
from tests import operator
from tests.browser.test_search_reports import PASSWORD, create_user
from tests.e2e.harness import System
from tests.e2e.test_tickets_flow import auth, submit
from tests.eventually import eventually
from tests.sso.chromium import greek_page, landed_as_agent
from tests.sso.conftest import LDAP_PASSWORD, PEOPLE
from tests.sso.slapd import SUFFIX, Slapd

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def sign_in(client: httpx.AsyncClient, username: str, password: str = LDAP_PASSWORD) -> Any:
    response = await client.post(
        "/api/v1/sessions", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def password_step(page: Any, username: str) -> None:
    """The Greek login page, with the directory's password."""
    await page.locator("#f-username").fill(username)
    await page.locator("#f-password").fill(LDAP_PASSWORD)
    await page.locator("form.card button[type=submit]").click()


async def directory_sync(system: System) -> Any:
    """`helpdesk directory-sync`: the operator's command over NATS."""
    nc = await nats.connect(system.servers.nats_url, **system.servers.nats_options("operator"))
    try:
        return await ask(nc, SyncDirectory(), within=30)
    finally:
        await nc.close()


async def test_a_directory_agent_signs_in_in_chromium_and_lands_with_the_agent_role(
    browser: Any, sso_system: System, directory: Slapd, screenshots: Any
) -> None:
    context, page = await greek_page(browser, sso_system, "/helpdesk/el/login")
    await password_step(page, "eleni")
    # An agent from the directory: no local second factor is forced (docs/sso.md);
    # her name from the directory.
    await landed_as_agent(page, "Ελένη Παππά", screenshots / "ldap-agent-el.png")
    # A wrong directory password is refused like a wrong local one.
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as client:
        wrong = await client.post(
            "/api/v1/sessions", json={"username": "eleni", "password": "not the password"}
        )
        injected = await client.post(
            "/api/v1/sessions", json={"username": "*)(uid=*", "password": LDAP_PASSWORD}
        )
    assert (wrong.status_code, injected.status_code) == (401, 401)
    await context.close()


async def test_a_local_account_is_joined_only_with_its_own_password(
    sso_system: System, directory: Slapd
) -> None:
    name, address = PEOPLE["maria.l"]
    await operator.create_user(
        sso_system.servers, "marialocal", name=name, email=address, password="her local one"
    )
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as client:
        challenge = await sign_in(client, "maria.l")
        # The directory vouches for the address; that alone opens nothing.
        assert challenge["status"] == "link_required"
        assert "access_token" not in challenge
        wrong = await client.post(
            "/api/v1/sessions/link",
            json={"challenge_id": challenge["challenge_id"], "password": LDAP_PASSWORD},
        )
        assert wrong.status_code == 401, wrong.text
        joined = await client.post(
            "/api/v1/sessions/link",
            json={"challenge_id": challenge["challenge_id"], "password": "her local one"},
        )
        assert joined.status_code == 200, joined.text
        me = await client.get("/api/v1/me", headers=auth(joined.json()["access_token"]))
        assert me.json()["username"] == "marialocal"
        # From now on the directory's password goes straight into that account.
        again = await sign_in(client, "maria.l")
        me = await client.get("/api/v1/me", headers=auth(again["access_token"]))
        assert me.json()["username"] == "marialocal"


async def test_a_person_removed_from_the_directory_is_deactivated_by_the_sync(
    sso_system: System, directory: Slapd
) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as client:
        admin = (await sign_in(client, "sofia"))["access_token"]  # an admin from the directory
        kostas = await sign_in(client, "kostas")
        customer = (await sign_in(client, "nikos"))["access_token"]
        kostas_me = await client.get("/api/v1/me", headers=auth(kostas["access_token"]))
        kostas_id = kostas_me.json()["user_id"]
        assert kostas_me.json()["roles"] == ["agent"]

        # kostas alone works the service desk; nikos's ticket goes to him.
        async def members() -> bool:
            response = await client.put(
                "/api/v1/queues/service-desk/members",
                headers=auth(admin),
                json={"agent_ids": [kostas_id]},
            )
            return response.status_code == 200

        assert await eventually(members, timeout=20, interval=0.2)
        submitted = await submit(
            client,
            customer,
            {"subject": "Δεν ανοίγει το VPN", "description": "x", "priority": "normal"},
        )
        assert submitted.status_code == 201, submitted.text
        ticket = submitted.json()["ticket_id"]

        async def assignee() -> str | None:
            got = await client.get(f"/api/v1/tickets/{ticket}", headers=auth(admin))
            assert got.status_code == 200, got.text
            found = got.json()["assignee"]
            return found["user_id"] if found else None

        assert await eventually(assignee, timeout=20, interval=0.2) == kostas_id

        # kostas leaves the organisation; the next sync deactivates him.
        await asyncio.to_thread(
            directory.modify, f"dn: uid=kostas,ou=people,{SUFFIX}\nchangetype: delete\n"
        )
        synced = await directory_sync(sso_system)
        assert synced.deactivated == 1, synced
        refused = await client.get("/api/v1/me", headers=auth(kostas["access_token"]))
        assert refused.status_code == 401
        gone = await client.post(
            "/api/v1/sessions", json={"username": "kostas", "password": LDAP_PASSWORD}
        )
        assert gone.status_code == 401  # the directory no longer knows him
        users = await client.get("/api/v1/users?q=kostas", headers=auth(admin))
        (row,) = users.json()["items"]
        assert (row["status"], row["source"]) == ("deactivated", "ldap")

        # His open ticket is handed back to its queue, as after an admin's deactivation.
        async def handed_back() -> bool:
            return await assignee() is None

        assert await eventually(handed_back, timeout=20, interval=0.2)
        detail = await client.get(f"/api/v1/tickets/{ticket}", headers=auth(admin))
        assert "TicketUnassigned" in [e["kind"] for e in detail.json()["timeline"]]
        emptied = await client.put(
            "/api/v1/queues/service-desk/members", headers=auth(admin), json={"agent_ids": []}
        )
        assert emptied.status_code == 200


async def test_an_admin_sees_each_users_source_and_factors(
    browser: Any, sso_system: System, directory: Slapd
) -> None:
    # A local customer who turned TOTP on from their account.
    username = f"local{uuid.uuid4().hex[:6]}"
    await create_user(sso_system.servers, username, Role.CUSTOMER, "el")
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as client:
        token = (await sign_in(client, username, PASSWORD))["access_token"]
        key = await client.post("/api/v1/me/factors/totp", headers=auth(token))
        confirmed = await client.post(
            "/api/v1/me/factors/totp/confirm",
            headers=auth(token),
            json={
                "enrolment_token": key.json()["enrolment_token"],
                "code": pyotp.TOTP(key.json()["secret"]).now(),
            },
        )
        assert confirmed.status_code == 200, confirmed.text
    # sofia, an admin from the directory, looks them up, and herself.
    context, page = await greek_page(browser, sso_system, "/helpdesk/el/login")
    await password_step(page, "sofia")
    await page.wait_for_url("**/helpdesk/el/tickets")
    for who, source, factors in (
        (username, "τοπικός", "Εφαρμογή ελέγχου ταυτότητας (TOTP)"),
        ("sofia", "κατάλογος LDAP", "—"),
    ):
        await page.goto(f"/helpdesk/el/users?q={who}")
        row = page.locator(f"#user-{who}")
        assert await row.locator(".source").inner_text() == source
        assert await row.locator(".factors").inner_text() == factors
    await context.close()

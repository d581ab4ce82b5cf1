"""OpenID Connect end to end (issue 28) against a real provider (npm
oidc-provider): people sign in with the organisation's account and land on the
portal with the role their groups give; and each attack on the flow is refused
in its own test: a replayed callback (state, nonce), an injected code, an
answer naming another issuer, and a claim of a local account's address."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk.contracts.actors import Role
from tests import operator
from tests.e2e.harness import System
from tests.sso.chromium import greek_page, landed_as_agent
from tests.sso.oidc import OidcServer, consent, landed, query

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def start(portal: httpx.AsyncClient, lang: str = "en") -> str:
    """Press "Sign in with your organisation": the provider's URL (the flow's cookie kept)."""
    response = await portal.get(f"/helpdesk/{lang}/login/organisation")
    assert response.status_code == 303, response.text
    assert "helpdesk_oidc" in portal.cookies
    return response.headers["location"]


async def back(portal: httpx.AsyncClient, callback: str) -> httpx.Response:
    """The provider's redirect back, as the browser follows it."""
    parts = callback.split("/helpdesk/", 1)[1]
    return await portal.get(f"/helpdesk/{parts}")


async def test_an_agent_signs_in_with_the_organisation_in_chromium(
    browser: Any, sso_system: System, oidc_provider: OidcServer, screenshots: Any
) -> None:
    context, page = await greek_page(browser, sso_system, "/helpdesk/el/login")
    button = page.get_by_role("link", name="Σύνδεση με τον λογαριασμό του οργανισμού")
    await button.click()
    # The provider's own pages: sign in as ana, agree.
    await page.locator("input[name=login]").fill("ana")
    await page.locator("input[name=password]").fill("whatever the provider asks")
    await page.locator("button[type=submit]").click()
    await page.locator("button[type=submit]").click()  # consent
    await landed_as_agent(page, "Άννα Οικονόμου")  # an agent, from her groups
    await page.screenshot(path=str(screenshots / "oidc-agent-el.png"), full_page=True)
    await context.close()


async def test_a_customer_is_made_on_first_sign_in_with_the_claims_locale(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        callback = await consent(await start(portal), "petros")
        assert query(callback)["iss"] == oidc_provider.issuer  # RFC 9207
        done = await back(portal, callback)
        assert landed(done), done.text
        page = await portal.get("/helpdesk/en/tickets")
        assert "Petros Ioannou" in page.text
        assert "/queues" not in page.text  # a customer: no group of agents


async def test_a_replayed_callback_is_refused(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        callback = await consent(await start(portal), "petros")
        flow_cookie_jar = dict(portal.cookies)
        assert landed(await back(portal, callback))
    # Someone who saw the callback URL and the flow's cookie replays both: the
    # state (and with it the nonce) was good once.
    async with httpx.AsyncClient(
        base_url=sso_system.url, timeout=15, cookies=flow_cookie_jar
    ) as attacker:
        replayed = await back(attacker, callback)
        assert replayed.status_code == 401, replayed.text
        assert not landed(replayed)


async def test_an_injected_code_is_refused(sso_system: System, oidc_provider: OidcServer) -> None:
    async with (
        httpx.AsyncClient(base_url=sso_system.url, timeout=15) as victim,
        httpx.AsyncClient(base_url=sso_system.url, timeout=15) as attacker,
    ):
        victims_url = await start(victim)
        attackers_callback = await consent(await start(attacker), "ana")
        # The attacker's code, in the victim's browser with the victim's state.
        injected = query(attackers_callback)
        state = query(victims_url)["state"]
        response = await victim.get(
            "/helpdesk/oidc/callback",
            params={"code": injected["code"], "state": state, "iss": injected["iss"]},
        )
        assert response.status_code == 401, response.text
        assert not landed(response)


async def test_an_answer_naming_another_issuer_is_refused(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        callback = await consent(await start(portal), "petros")
        answer = query(callback)
        mixed_up = await portal.get(
            "/helpdesk/oidc/callback",
            params={**answer, "iss": "http://127.0.0.1:1/evil-idp"},
        )
        assert mixed_up.status_code == 401, mixed_up.text
        assert not landed(mixed_up)


async def test_a_local_account_is_not_taken_over_through_a_claim(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    await operator.create_user(
        sso_system.servers,
        "victim",
        role=Role.CUSTOMER,
        email="victim@example.gr",
        password="the victim's own password",
    )
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        # An unverified address: refused outright.
        refused = await back(portal, await consent(await start(portal), "intruder"))
        assert refused.status_code == 403, refused.text
        assert not landed(refused)
        # A verified one: no session, only the step that asks for the local password.
        asked = await back(portal, await consent(await start(portal), "victim-at-idp"))
        assert asked.status_code == 303
        assert asked.headers["location"].endswith("/login/link")
        tickets = await portal.get("/helpdesk/en/tickets")
        assert tickets.status_code == 303
        assert "/login" in tickets.headers["location"]

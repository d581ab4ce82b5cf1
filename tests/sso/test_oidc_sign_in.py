"""OpenID Connect end to end (issue 28) against a real provider (npm
oidc-provider): people sign in with the organisation's account and land on the
portal with the role their groups give; and each attack on the flow is refused
in its own test: a replayed callback (state, nonce), an injected code, an
answer naming another issuer, and a claim of a local account's address. Then
identity's adapter in a flow of its own with the real provider, whose token
endpoint's answer is tampered with on the way back: the ID token of an earlier
flow (its nonce), one with `alg: none`, and one signed HS256 with the
provider's public key are refused, each in its own test."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from helpdesk.contracts.actors import Role
from helpdesk.identity.adapters.oidc import OidcProvider
from helpdesk.identity.domain.errors import OrganisationRefused
from helpdesk.identity.domain.organisation import OrganisationPerson
from helpdesk.identity.handlers.deps import OidcFlow
from tests import operator
from tests.e2e.harness import System
from tests.sso.chromium import greek_page, landed_as_agent
from tests.sso.oidc import CLIENT_ID, CLIENT_SECRET, OidcServer, consent, landed, query
from tests.unit.identity.test_oidc_tokens import alg_none, hs256_keyed_with, oidc_settings

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
    # An agent, from her groups.
    await landed_as_agent(page, "Άννα Οικονόμου", screenshots / "oidc-agent-el.png")
    await context.close()


async def test_a_customer_is_made_on_first_sign_in_with_the_claims_locale(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        login_page = await portal.get("/helpdesk/en/login")
        assert "Sign in with your organisation" in login_page.text  # the English button
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


# ---------------------------------------------------------------- the ID token, tampered with

Forgery = Callable[[str], str]


class TamperedTokenEndpoint(httpx.AsyncBaseTransport):
    """The network to the real provider, except that the token endpoint's ID token
    comes back as `forge(the real one)`: a provider mixed up, or someone in between."""

    def __init__(self, forge: Forgery) -> None:
        self._network = httpx.AsyncHTTPTransport()
        self._forge = forge

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._network.handle_async_request(request)
        if not request.url.path.endswith("/token"):
            return response
        body = json.loads(await response.aread())
        body["id_token"] = self._forge(body["id_token"])
        return httpx.Response(response.status_code, json=body)


async def adapter_signs_in(
    system: System, provider: OidcServer, forge: Forgery
) -> OrganisationPerson:
    """Identity's adapter (production settings, but for the client) through a whole
    real flow of its own: authorization URL, petros's consent, code + PKCE exchange."""
    settings = oidc_settings(
        provider.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET
    )
    adapter = OidcProvider(settings, transport=TamperedTokenEndpoint(forge))
    flow = OidcFlow(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        redirect_uri=f"{system.url}/helpdesk/oidc/callback",
        locale="en",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )
    answer = query(await consent(await adapter.authorization(flow), "petros"))
    return await adapter.person(flow, answer["code"], answer["iss"], datetime.now(UTC))


def body_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def test_the_id_token_of_an_earlier_flow_is_refused(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    earlier: list[str] = []

    def keep(token: str) -> str:
        earlier.append(token)
        return token

    # Untouched, the provider's token signs petros in (the control)...
    assert (await adapter_signs_in(sso_system, oidc_provider, keep)).email == "petros@example.gr"
    # ...but not in another flow: signed by the provider, yet with the earlier nonce.
    with pytest.raises(OrganisationRefused) as refused:
        await adapter_signs_in(sso_system, oidc_provider, lambda _: earlier[0])
    assert refused.value.reason.startswith("ID token refused"), refused.value.reason


async def test_an_id_token_with_alg_none_is_refused(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    with pytest.raises(OrganisationRefused) as refused:
        await adapter_signs_in(sso_system, oidc_provider, lambda real: alg_none(body_of(real)))
    assert refused.value.reason == "ID token algorithm 'none' not allowed"


async def test_an_id_token_signed_hs256_with_the_providers_public_key_is_refused(
    sso_system: System, oidc_provider: OidcServer
) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        (public_key, *_) = (await http.get(f"{oidc_provider.issuer}/jwks")).json()["keys"]

    def confused(real: str) -> str:
        return hs256_keyed_with(public_key, body_of(real))

    with pytest.raises(OrganisationRefused) as refused:
        await adapter_signs_in(sso_system, oidc_provider, confused)
    assert refused.value.reason == "ID token algorithm 'HS256' not allowed"

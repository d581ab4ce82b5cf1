"""SAML 2.0 end to end (issue 28) against a real SimpleSAMLphp IdP: a person signs
in at the IdP and lands on the portal with the role its attributes give; and an
unsigned, a wrapped, a replayed and an expired assertion are each refused in
their own test."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest

from tests.e2e.harness import System
from tests.sso.chromium import greek_page, landed_as_agent
from tests.sso.oidc import landed
from tests.sso.simplesaml import SimpleSamlPhp, sign_in_at

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

Idps = tuple[SimpleSamlPhp, SimpleSamlPhp]


async def idp_form(portal: httpx.AsyncClient, port: int = 0) -> Any:
    """Press the organisation's button for SAML and sign in at the IdP (or at its
    twin on `port`) as dimitra, a customer: the form the IdP answers with, to post
    to the helpdesk."""
    started = await portal.get("/helpdesk/en/login/saml")
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    if port:
        location = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", location, count=1)
    async with httpx.AsyncClient(timeout=15) as idp:
        return await sign_in_at(idp, location, "dimitra", "dimitra saml pass")


async def post(portal: httpx.AsyncClient, form: dict[str, str], saml: str | None = None) -> Any:
    fields = {
        "SAMLResponse": saml or form["SAMLResponse"],
        "RelayState": form.get("RelayState", ""),
    }
    return await portal.post("/helpdesk/saml/acs", data=fields)


async def refused(portal: httpx.AsyncClient, form: dict[str, str], saml: str | None = None) -> None:
    """Posting `form` (with `saml` in place of its response) signs nobody in: 401."""
    answer = await post(portal, form, saml)
    assert answer.status_code == 401, answer.text
    assert not landed(answer)


def xml_of(form: dict[str, str]) -> str:
    return base64.b64decode(form["SAMLResponse"]).decode()


def without_envelope_signature(xml: str) -> str:
    """The response with its own signature taken out, the assertion's kept."""
    head, assertion, tail = xml.partition("<saml:Assertion")
    return re.sub(r"<ds:Signature.*?</ds:Signature>", "", head, flags=re.S) + assertion + tail


def encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


async def test_a_person_signs_in_through_the_idp_in_chromium(
    browser: Any, sso_system: System, saml_idp: Idps, screenshots: Any
) -> None:
    context, page = await greek_page(browser, sso_system, "/helpdesk/el/login/saml")
    await page.locator("input[name=username]").fill("giorgos")
    await page.locator("input[name=password]").fill("giorgos saml pass")
    await page.locator("button[type=submit], input[type=submit]").first.click()
    # SimpleSAMLphp posts the response back (a button when scripts are off).
    if "/helpdesk/" not in page.url:
        submit = page.locator("form input[type=submit], form button[type=submit]")
        if await submit.count():
            await submit.first.click()
    await landed_as_agent(page, "Γιώργος Σαμαράς", screenshots / "saml-agent-el.png")
    await context.close()


async def test_the_service_provider_publishes_its_metadata(
    sso_system: System, saml_idp: Idps
) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        metadata = await portal.get("/helpdesk/saml/metadata")
    assert metadata.status_code == 200
    assert f'entityID="{sso_system.url}/helpdesk/saml/metadata"' in metadata.text
    assert f"{sso_system.url}/helpdesk/saml/acs" in metadata.text


async def test_an_unsigned_assertion_is_refused(sso_system: System, saml_idp: Idps) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        form = await idp_form(portal)
        # Every signature taken out: the response's and the assertion's.
        unsigned = re.sub(r"<ds:Signature.*?</ds:Signature>", "", xml_of(form), flags=re.S)
        await refused(portal, form, encoded(unsigned))


async def test_a_wrapped_assertion_is_refused(sso_system: System, saml_idp: Idps) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        form = await idp_form(portal)
        # The response's own signature goes (only the assertion's is required), so
        # what refuses is the assertion's check, not the envelope's.
        xml = without_envelope_signature(xml_of(form))
        # Signature wrapping: the signed assertion kept (hidden in an Extensions
        # element) so its signature still verifies, and an evil copy with another
        # person's identity put where the reader looks.
        signed = re.search(r"<saml:Assertion.*?</saml:Assertion>", xml, flags=re.S)
        assert signed
        evil = re.sub(r"<ds:Signature.*?</ds:Signature>", "", signed.group(0), flags=re.S)
        evil = evil.replace("dimitra@uni.example.gr", "giorgos@uni.example.gr")
        evil = re.sub(r'ID="[^"]+"', 'ID="_evil"', evil, count=1)
        wrapped = xml.replace(
            signed.group(0),
            f"<samlp:Extensions>{signed.group(0)}</samlp:Extensions>{evil}",
        )
        await refused(portal, form, encoded(wrapped))


async def test_a_signed_assertion_alone_is_enough(sso_system: System, saml_idp: Idps) -> None:
    # The control of the wrapping test: without the response's signature, the
    # untouched signed assertion signs in.
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        form = await idp_form(portal)
        xml = without_envelope_signature(xml_of(form))
        assert landed(await post(portal, form, encoded(xml)))


async def test_a_replayed_assertion_is_refused(sso_system: System, saml_idp: Idps) -> None:
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        form = await idp_form(portal)
        assert landed(await post(portal, form))
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as attacker:
        await refused(attacker, form)


async def test_an_expired_assertion_is_refused(sso_system: System, saml_idp: Idps) -> None:
    _, twin = saml_idp
    async with httpx.AsyncClient(base_url=sso_system.url, timeout=15) as portal:
        # The same issuer and key, but the assertion ended ten minutes ago.
        form = await idp_form(portal, port=twin.port)
        assert "NotOnOrAfter" in xml_of(form)
        await refused(portal, form)

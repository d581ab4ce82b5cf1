"""Passkeys in Chromium (issue 28) with its virtual authenticator (CDP WebAuthn):
a person adds a passkey on the account page, then signs in with it alone, no
password, and with it as the second step after the password; a device without
a passkey of the site opens nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from helpdesk.contracts.actors import Role
from tests.browser.test_search_reports import PASSWORD, create_user
from tests.e2e.harness import System

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def authenticator(page: Any) -> Any:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp


async def test_a_passkey_is_added_then_signs_in_without_a_password(
    browser: Any, sso_system: System, screenshots: Any
) -> None:
    username = f"pk{uuid.uuid4().hex[:6]}"
    await create_user(sso_system.servers, username, Role.CUSTOMER, "en")
    # localhost, not 127.0.0.1: a passkey's relying party is a domain.
    base = f"http://localhost:{sso_system.gateway_port}"
    context = await browser.new_context(base_url=base, locale="en-GR")
    page = await context.new_page()
    await authenticator(page)

    await page.goto("/helpdesk/en/login")
    await page.locator("#f-username").fill(username)
    await page.locator("#f-password").fill(PASSWORD)
    await page.locator("form.card button[type=submit]").click()
    await page.wait_for_url("**/helpdesk/en/tickets")
    await page.goto("/helpdesk/en/account")
    await page.locator("#add-passkey").click()
    await page.wait_for_url("**/helpdesk/en/account?notice=passkey_added")
    assert "Passkey" in await page.locator("#factors").inner_text()
    await page.screenshot(path=str(screenshots / "passkey-added-en.png"), full_page=True)
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_load_state()

    # Signing in with the passkey alone.
    await page.goto("/helpdesk/en/login")
    await page.locator("#passkey-sign-in").click()
    await page.wait_for_url("**/helpdesk/en/tickets")
    assert await page.locator(".who strong").inner_text() == f"{username.title()} Test"
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_load_state()

    # With the password, the passkey is the second step (the account has a factor now).
    await page.goto("/helpdesk/en/login")
    await page.locator("#f-username").fill(username)
    await page.locator("#f-password").fill(PASSWORD)
    await page.locator("form.card button[type=submit]").click()
    await page.wait_for_url("**/helpdesk/en/login/code")
    await page.locator("#passkey-second-step").click()
    await page.wait_for_url("**/helpdesk/en/tickets")
    await context.close()


async def test_no_passkey_opens_nothing(browser: Any, sso_system: System) -> None:
    base = f"http://localhost:{sso_system.gateway_port}"
    context = await browser.new_context(base_url=base, locale="en-GR")
    page = await context.new_page()
    await authenticator(page)  # with no passkey of this site on it
    await page.goto("/helpdesk/en/login")
    await page.locator("#passkey-sign-in").click()
    await page.locator("#passkey-status").wait_for(state="visible")
    assert "/helpdesk/en/login" in page.url
    await context.close()

"""Two-factor login in Chromium (issue 28): an agent with a local password reaches
no page before enrolling TOTP; a TOTP code completes the next login; wrong codes
are rate-limited like passwords; the account page lists the factor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest

from helpdesk.contracts.actors import Role
from tests.browser.test_search_reports import PASSWORD, create_user
from tests.e2e.harness import System

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def password_step(page: Any, username: str) -> None:
    await page.goto("/helpdesk/en/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.wait_for_load_state()


async def test_an_agent_enrols_before_any_page_then_signs_in_with_totp(
    browser: Any, sso_system: System, screenshots: Any
) -> None:
    username = f"agent{uuid.uuid4().hex[:6]}"
    await create_user(sso_system.servers, username, Role.AGENT, "en")
    context = await browser.new_context(base_url=sso_system.url, locale="en-GR")
    page = await context.new_page()

    # The right password leads to enrolment, and to nothing else.
    await password_step(page, username)
    assert "/helpdesk/en/login/enrol" in page.url
    for elsewhere in ("tickets", "tickets/new", "account", "queues"):
        await page.goto(f"/helpdesk/en/{elsewhere}")
        assert "/helpdesk/en/login" in page.url, elsewhere
    me = await page.request.get("/api/v1/me")
    assert me.status == 401

    # Enrol: the key into the "app", its code, the recovery codes once.
    await page.goto("/helpdesk/en/login/enrol")
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    assert (await page.locator("#totp-uri").inner_text()).startswith("otpauth://totp/")
    await page.screenshot(path=str(screenshots / "mfa-enrol-en.png"), full_page=True)
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on").click()
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    await page.get_by_role("link", name="Continue").click()
    await page.wait_for_url("**/helpdesk/en/tickets")
    await page.goto("/helpdesk/en/account")
    assert "Authenticator app (TOTP)" in await page.locator("#factors").inner_text()
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_load_state()

    # The next login: a TOTP code (the next time step: this one is used up).
    await password_step(page, username)
    assert "/helpdesk/en/login/code" in page.url
    soon = datetime.now(UTC) + timedelta(seconds=30)
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).at(soon))
    await page.get_by_role("button", name="Verify").click()
    await page.wait_for_url("**/helpdesk/en/tickets")
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_load_state()

    # Wrong codes: counted like wrong passwords, then 429 with Retry-After.
    await password_step(page, username)
    statuses = []
    for _ in range(6):
        await page.get_by_label("Code").fill("000000")
        async with page.expect_response(lambda r: r.request.method == "POST") as answer:
            await page.get_by_role("button", name="Verify").click()
        statuses.append((await answer.value).status)
    assert statuses == [401] * 5 + [429], statuses
    assert "Too many attempts" in await page.locator("#form-error").inner_text()
    await context.close()


async def test_the_greek_enrolment_page(browser: Any, sso_system: System) -> None:
    username = f"admin{uuid.uuid4().hex[:6]}"
    await create_user(sso_system.servers, username, Role.ADMIN, "el")
    context = await browser.new_context(base_url=sso_system.url, locale="el-GR")
    page = await context.new_page()
    await page.goto("/helpdesk/el/login")
    await page.get_by_label("Όνομα σύνδεσης").fill(username)
    await page.get_by_label("Κωδικός σύνδεσης").fill(PASSWORD)
    await page.get_by_role("button", name="Σύνδεση", exact=True).click()
    await page.wait_for_url("**/helpdesk/el/login/enrol")
    heading = await page.get_by_role("heading", level=1).inner_text()
    assert heading == "Προσθέστε δεύτερο παράγοντα σύνδεσης"
    await page.goto("/helpdesk/el/users")
    assert "/helpdesk/el/login" in page.url  # no admin page before the factor
    await context.close()

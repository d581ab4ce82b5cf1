"""Erasure in a real browser (Debian Chromium) against the whole system (issue 30,
erasure): Μαρία asks on 'Τα δεδομένα μου' in Greek, with a note; the admin finds
her request on 'Αιτήματα διαγραφής' (from the users page), confirms it with a
reason, and her ticket then shows 'Διαγραμμένος χρήστης' as its requester. In
English, the admin erases another user from the users page's confirm page."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import operator
from tests.browser.test_attachments_portal import portal_login
from tests.e2e.harness import System
from tests.e2e.test_agents_flow import new_admin
from tests.e2e.test_privacy_export import ticket_of
from tests.e2e.test_tickets_flow import PASSWORD, register_customer
from tests.eventually import eventually

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

NOTE = "Φεύγω από την εταιρεία."


async def ask_for_erasure(page: Any, screenshots: Path) -> None:
    """From the account page to the request's confirmation, in Greek, without scripts."""
    await page.goto("/helpdesk/el/account")
    await page.get_by_role("link", name="Τα δεδομένα μου", exact=True).click()
    await page.wait_for_url("**/helpdesk/el/my-data")
    section = page.locator("#my-data-erasure")
    heading = section.get_by_role("heading", level=2)
    assert await heading.inner_text() == "Ζητώ τη διαγραφή των δεδομένων μου"
    assert "σας κατονομάζει" in await section.inner_text()
    await section.get_by_label("Σημείωση για τον διαχειριστή (προαιρετικά)").fill(NOTE)
    await page.screenshot(path=str(screenshots / "erasure-request-el.png"), full_page=True)
    await section.get_by_role("button", name="Αποστολή αιτήματος διαγραφής").click()
    await page.wait_for_url("**/helpdesk/el/my-data/erasure")
    sent = await page.locator("#erasure-request-sent").inner_text()
    assert sent.startswith("Το αίτημα διαγραφής σας στάλθηκε.")


async def confirm_erasure(page: Any, username: str, screenshots: Path) -> None:
    """The admin: users page → erasure requests → her request → confirmed with a reason."""
    await page.goto("/helpdesk/el/users")
    await page.get_by_role("link", name="Αιτήματα διαγραφής", exact=True).click()
    await page.wait_for_url("**/helpdesk/el/erasure-requests")
    request = page.locator(f"#erasure-request-{username}")
    text = await request.inner_text()
    assert "Μαρία Παπαδοπούλου" in text
    assert NOTE in text
    assert "δεν αναιρείται" in text
    await request.get_by_label("Αιτιολογία").fill("αίτημα του ίδιου από την πύλη")
    await page.screenshot(path=str(screenshots / "erasure-requests-el.png"), full_page=True)
    await request.get_by_role("button", name="Οριστική διαγραφή").click()
    await page.wait_for_url("**/helpdesk/el/erasure-requests?notice=erased")
    assert "Ο χρήστης διαγράφηκε" in await page.get_by_role("status").first.inner_text()
    assert await page.locator(f"#erasure-request-{username}").count() == 0


async def erase_from_the_users_page(page: Any, username: str, screenshots: Path) -> None:
    """The admin, in English: users page → "Erase data" → the confirm page → erased."""
    await page.goto(f"/helpdesk/en/users?q={username}")
    await page.locator(f"#user-{username}").get_by_role("link", name="Erase data").click()
    await page.wait_for_url("**/helpdesk/en/users/*/erase?username=*")
    assert await page.get_by_role("heading", level=1).inner_text() == "Erase a user's data"
    assert username in await page.locator("#erasure-person").inner_text()
    assert "cannot be undone" in await page.locator(".erase-form").inner_text()
    await page.get_by_label("Reason").fill("asked by letter")
    await page.screenshot(path=str(screenshots / "erasure-confirm-en.png"), full_page=True)
    await page.get_by_role("button", name="Erase for good").click()
    await page.wait_for_url("**/helpdesk/en/users?notice=erased")
    assert "The user was erased." in await page.get_by_role("status").first.inner_text()


async def test_a_customer_asks_in_greek_and_the_admin_confirms(
    system: System, browser: Any, screenshots: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        _, maria = await register_customer(system, client, tag)
        ticket = await ticket_of(client, maria, f"Οθόνη {tag}", "Τρεμοπαίζει.")
        await new_admin(system, client, tag)
    await operator.create_user(system.servers, f"john{tag}", password=PASSWORD)

    customer = await portal_login(browser, system, f"maria{tag}", "el-GR")
    await ask_for_erasure(customer, screenshots)
    await customer.context.close()

    admin = await portal_login(browser, system, f"admin{tag}", "el-GR")
    await confirm_erasure(admin, f"maria{tag}", screenshots)

    async def requester_shown_erased() -> bool:
        await admin.goto(f"/helpdesk/el/tickets/{ticket['ticket_id']}")
        facts = await admin.locator("#requester-context").inner_text()
        return "Διαγραμμένος χρήστης" in facts and "Μαρία" not in facts

    await eventually(requester_shown_erased, timeout=30, interval=0.5, what="requester erased")
    number = await admin.locator("h1 .number").inner_text()
    assert number == ticket["number"]
    await admin.screenshot(path=str(screenshots / "erased-requester-el.png"), full_page=True)

    await erase_from_the_users_page(admin, f"john{tag}", screenshots)
    gone = await admin.request.post(
        "/api/v1/sessions", data={"username": f"john{tag}", "password": PASSWORD}
    )
    assert gone.status == 401
    await admin.context.close()

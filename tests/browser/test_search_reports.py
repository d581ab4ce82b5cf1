"""The search box (customers and agents) and the agents' SLA report page, in
Greek and English, in a real browser against the whole running system."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.gateway.portal.i18n import FAQ_LABELS
from tests import operator
from tests.e2e.harness import System
from tests.servers import Servers

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "search-and-reports-2026"


async def create_user(servers: Servers, username: str, role: Role, locale: str) -> None:
    await operator.create_user(
        servers,
        username,
        role=role,
        name=f"{username.title()} Test",
        email=f"{username}@example.org",
        password=PASSWORD,
        locale=locale,
    )


async def log_in(browser: Any, system: System, username: str, lang: str) -> tuple[Any, Any]:
    context = await browser.new_context(base_url=system.url, locale=f"{lang}-GR")
    page = await context.new_page()
    await page.goto(f"/helpdesk/{lang}/login")
    name = FAQ_LABELS["username_label"] if lang == "el" else "Username"
    await page.get_by_label(name).fill(username)
    await page.get_by_label("Κωδικός σύνδεσης" if lang == "el" else "Password").fill(PASSWORD)
    button = FAQ_LABELS["login_button"] if lang == "el" else "Log in"
    await page.get_by_role("button", name=button, exact=True).click()
    await page.wait_for_url(f"**/helpdesk/{lang}/tickets")
    return context, page


async def signed_in(
    browser: Any, system: System, username: str, role: Role, lang: str
) -> tuple[Any, Any]:
    """A new user of `role` who speaks `lang`, logged in: their browser context and page."""
    await create_user(system.servers, username, role, lang)
    return await log_in(browser, system, username, lang)


async def submit(page: Any, subject: str, description: str) -> None:
    await page.goto("/helpdesk/el/tickets/new")
    await page.get_by_label("Θέμα").fill(subject)
    await page.get_by_label("Περιγραφή").fill(description)
    await page.get_by_role("button", name=FAQ_LABELS["submit_button"], exact=True).click()
    await page.wait_for_url("**?notice=submitted")


async def test_search_box_and_report_page(browser: Any, system: System, screenshots: Any) -> None:
    suffix = uuid.uuid4().hex[:6]
    customer_name, agent_name = f"eleni{suffix}", f"nikos{suffix}"
    await create_user(system.servers, customer_name, Role.CUSTOMER, "el")
    await create_user(system.servers, agent_name, Role.AGENT, "en")

    customer, page = await log_in(browser, system, customer_name, "el")
    await submit(page, f"Ο εκτυπωτής {suffix} δεν τυπώνει", "Κόλλησε χαρτί στον εκτυπωτή.")
    await submit(page, f"Πρόβλημα δικτύου {suffix}", "Δεν έχουμε σύνδεση στο Δίκτυο.")
    ticket_url = page.url.split("?")[0]

    # Customer, Greek: accents, case and plural ignored.
    await page.goto("/helpdesk/el/tickets")
    await page.get_by_label("Αναζήτηση αιτημάτων").fill("ΕΚΤΥΠΩΤΕΣ")
    await page.get_by_role("button", name="Αναζήτηση", exact=True).click()
    await page.wait_for_url("**/helpdesk/el/tickets?q=*")
    items = page.locator("ul.ticket-list li")
    assert await items.count() == 1
    assert suffix in await items.first.inner_text()
    assert await items.first.locator("p.snippet mark").count() >= 1
    await page.screenshot(path=str(screenshots / "search-customer-el.png"), full_page=True)

    # The agent adds an internal note on the network ticket.
    agent, apage = await log_in(browser, system, agent_name, "en")
    await apage.goto(ticket_url.replace("/el/", "/en/"))
    await apage.get_by_label("Your message").fill(f"Suspect switch Zyxel{suffix} in rack C.")
    await apage.get_by_label("Internal note").check()
    await apage.get_by_role("button", name="Send reply").click()
    await apage.wait_for_url("**?notice=note_added")

    # Agent, English: the note is found, by a partial word.
    await apage.goto("/helpdesk/en/tickets")
    await apage.get_by_label("Search requests").fill(f"zyxel{suffix[:3]}")
    await apage.get_by_role("button", name="Search", exact=True).click()
    await apage.wait_for_url("**/helpdesk/en/tickets?q=*")
    rows = apage.locator("table.queue tbody tr")
    assert await rows.count() == 1
    assert f"Πρόβλημα δικτύου {suffix}" in await rows.first.inner_text()
    assert (await rows.first.locator("mark").first.inner_text()).lower().startswith("zyxel")
    await apage.screenshot(path=str(screenshots / "search-agent-en.png"), full_page=True)

    # The customer never finds the note.
    await page.goto(f"/helpdesk/el/tickets?q=zyxel{suffix}")
    assert await page.locator("ul.ticket-list li").count() == 0
    assert await page.get_by_text("Δεν βρέθηκαν αιτήματα").is_visible()

    # Reports: agents only; English then Greek.
    await apage.get_by_role("link", name="SLA reports").click()
    await apage.wait_for_url("**/helpdesk/en/reports")
    assert await apage.get_by_role("heading", name="SLA reports").is_visible()
    table = apage.locator("#report-table")
    total = table.locator("tbody tr.total")
    assert await total.locator("th").inner_text() == "Total"
    assert int(await total.locator("td").first.inner_text()) >= 2
    assert await apage.locator("svg#chart-volume rect").count() >= 1
    await apage.get_by_label("Group by").select_option("queue")
    await apage.get_by_role("button", name="Show").click()
    await apage.wait_for_url(re.compile(r".*group_by=queue.*"))
    # Queues by the routing policy's name in the reader's language, not the key.
    assert await table.get_by_role("rowheader", name="Service desk").is_visible()
    await apage.screenshot(path=str(screenshots / "reports-en.png"), full_page=True)
    await apage.get_by_role("link", name="Ελληνικά").click()
    await apage.wait_for_url("**/helpdesk/el/reports?*")
    assert await apage.get_by_role("heading", name="Αναφορές SLA").is_visible()
    assert await table.locator("tbody tr.total th").inner_text() == "Σύνολο"
    assert await table.get_by_role("rowheader", name="Γραφείο εξυπηρέτησης").is_visible()
    await apage.screenshot(path=str(screenshots / "reports-el.png"), full_page=True)

    forbidden = await page.goto("/helpdesk/el/reports")
    assert forbidden is not None
    assert forbidden.status == 403
    assert await page.get_by_role("link", name="Αναφορές SLA").count() == 0

    await customer.close()
    await agent.close()

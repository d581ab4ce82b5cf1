"""The agent's workspace in Chromium (issue 29): a queue page that shows a new
ticket by itself, an open ticket that says it changed while its reader keeps
typing, and the composer — a reply, an assignment and a status in one submit,
and a refused change that gives back what was typed, in the reader's language."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from helpdesk.contracts.actors import Role
from helpdesk.gateway.portal.i18n import FAQ_LABELS
from tests.browser.test_search_reports import PASSWORD, signed_in, submit
from tests.e2e.harness import System, mail_text
from tests.e2e.test_workspace_flow import RATING_LINK

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def following(page: Any, url: str) -> None:
    """Open `url` and wait until its live stream answers (the first frame is sent
    at once), so that what happens next reaches the page."""
    async with page.expect_response(lambda r: "/live" in r.url and r.status == 200):
        await page.goto(url)


async def test_live_queue_live_ticket_and_the_composer(
    browser: Any, system: System, screenshots: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    kostas, eleni, maria = f"kostas{tag}", f"eleni{tag}", f"maria{tag}"
    _, apage = await signed_in(browser, system, kostas, Role.AGENT, "el")
    _, bpage = await signed_in(browser, system, eleni, Role.AGENT, "en")
    _, customer = await signed_in(browser, system, maria, Role.CUSTOMER, "el")

    # Agent A watches the queue ("All"); the employee submits in another browser.
    await following(apage, "/helpdesk/el/tickets?view=all")
    await apage.evaluate("window.stillThisPage = true")
    subject = f"Ο εκτυπωτής του 2ου ορόφου {tag}"
    await submit(customer, subject, "Βγάζει λευκές σελίδες.")
    ticket_url = customer.url.split("?")[0].replace("/helpdesk/el/", "/helpdesk/{lang}/")
    await apage.get_by_role("link", name=subject).wait_for(timeout=2000)  # within 2 s
    assert await apage.evaluate("window.stillThisPage === true")  # no reload
    await apage.screenshot(path=str(screenshots / "workspace-01-live-queue-el.png"))
    # The agent keeps this view under a name of their own.
    await apage.get_by_label("Όνομα προβολής").fill("Όλες οι ουρές")
    await apage.get_by_role("button", name="Αποθήκευση αυτής της προβολής").click()
    saved = apage.locator(".saved-filters").get_by_role("link", name="Όλες οι ουρές")
    await saved.wait_for()
    assert (await saved.get_attribute("href") or "").endswith("tickets?view=all")

    # Agent B opens it and starts typing; agent A answers, takes it and resolves it
    # in one submit.
    await following(bpage, ticket_url.format(lang="en"))
    typed = "Half-written answer: have you tried the other tray"
    await bpage.get_by_label("Your message").fill(typed)
    await apage.goto(ticket_url.format(lang="el"))
    # Presence: A's page names B, who is typing a reply.
    present = apage.locator("#presence").get_by_text(f"{eleni.title()} Test · γράφει απάντηση")
    await present.wait_for(timeout=15000)
    await apage.get_by_label("Το μήνυμά σας").fill("Αλλάξαμε το τόνερ· δοκιμάστε ξανά.")
    await apage.get_by_label("Ανάθεση σε").select_option("me")
    await apage.get_by_role("button", name="Απάντηση και επίλυση").click()
    await apage.wait_for_url("**?notice=saved")
    async with httpx.AsyncClient(base_url=system.url, timeout=10) as client:
        token = (
            await client.post("/api/v1/sessions", json={"username": kostas, "password": PASSWORD})
        ).json()["access_token"]
        ticket_id = ticket_url.rsplit("/", 1)[-1]
        detail = (
            await client.get(
                f"/api/v1/tickets/{ticket_id}", headers={"Authorization": f"Bearer {token}"}
            )
        ).json()
    batch = detail["timeline"][-3:]
    assert [e["kind"] for e in batch] == [
        "TicketMessageAdded",
        "TicketAssigned",
        "TicketStatusChanged",
    ]
    assert len({e["at"] for e in batch}) == 1  # one change
    assert detail["status"] == "resolved"

    # B's page says so, in place; what B typed is still there.
    notice = bpage.locator("#live-notice")
    await notice.wait_for(state="visible", timeout=5000)
    assert "changed" in await notice.inner_text() or "New reply" in await notice.inner_text()
    await bpage.locator("#facts").get_by_text("Resolved").wait_for(timeout=5000)
    assert await bpage.get_by_label("Your message").input_value() == typed
    await bpage.get_by_role("link", name="Show").click()
    await bpage.locator("#timeline").get_by_text("Αλλάξαμε το τόνερ").wait_for(timeout=5000)
    assert await bpage.get_by_label("Your message").input_value() == typed
    await bpage.screenshot(path=str(screenshots / "workspace-02-live-ticket-en.png"))

    # B's status list was made for a new ticket; "Waiting" is no move for a resolved
    # one: refused, in English, with the text and the choice kept.
    await bpage.get_by_label("Change status").select_option("pending")
    async with bpage.expect_response(lambda r: r.request.method == "POST") as answer:
        await bpage.get_by_role("button", name="Send reply").click()
    assert (await answer.value).status == 409
    assert (
        "not allowed in the request's current state"
        in await bpage.locator("#form-error").inner_text()
    )
    assert await bpage.get_by_label("Your message").input_value() == typed
    assert await bpage.get_by_label("Change status").input_value() == ""  # resolved now: new list
    await bpage.screenshot(path=str(screenshots / "workspace-03-refused-en.png"))


async def rate_from_the_mail(browser: Any, system: System, to: str, screenshots: Any) -> None:
    """Open the resolution mail's rating link in a browser that is not signed in: the
    request's number, a choice is required, the rating is taken once, and the link
    says so afterwards (in English too)."""
    mail = await asyncio.to_thread(system.wait_for_mail, to, lambda m: "/rate/" in mail_text(m), 20)
    found = RATING_LINK.search(mail_text(mail))
    assert found is not None
    anonymous = await browser.new_context(base_url=system.url, locale="el-GR")
    page = await anonymous.new_page()
    await page.goto(found.group(0))
    assert "Δεν χρειάζεται σύνδεση." in await page.locator("#rate-intro").inner_text()
    await page.get_by_role("button", name="Αποστολή βαθμολογίας").click()  # no choice
    assert await page.locator("#f-rating-error").inner_text() == "Επιλέξτε βαθμολογία από 1 έως 5."
    assert await page.get_by_role("alert").count() == 1  # the banner said once
    await page.get_by_label("4 από 5").check()
    await page.get_by_label("Σχόλιο (προαιρετικό)").fill("Από το μήνυμα, χωρίς σύνδεση.")
    await page.screenshot(path=str(screenshots / "workspace-05-rate-by-link-el.png"))
    await page.get_by_role("button", name="Αποστολή βαθμολογίας").click()
    thanks = page.locator("#message").get_by_text("Ευχαριστούμε για τη βαθμολογία σας.")
    await thanks.wait_for()
    await page.goto(found.group(0).replace("/helpdesk/el/", "/helpdesk/en/"))
    message = await page.locator("#message").inner_text()
    assert message == "This resolution has already been rated. Thank you!"
    await anonymous.close()


async def test_on_behalf_reopen_rating_and_a_confirmed_close_in_greek(
    browser: Any, system: System, screenshots: Any
) -> None:
    """The end of a ticket in the portal (issue 29, items 5 and 6): an agent opens a
    ticket for an employee, who rates its resolution from the mail's signed link,
    reopens it and rates the next one from the page; closing asks once more."""
    tag = uuid.uuid4().hex[:6]
    nikos, sofia = f"nikos{tag}", f"sofia{tag}"
    _, agent = await signed_in(browser, system, nikos, Role.AGENT, "el")
    _, employee = await signed_in(browser, system, sofia, Role.CUSTOMER, "el")

    # On behalf of the employee, who may still be on the way to the tickets service.
    await agent.goto("/helpdesk/el/tickets/new")
    await agent.get_by_label("Θέμα").fill(f"Τηλεφώνησε για το VPN {tag}")
    await agent.get_by_label("Περιγραφή").fill("Δεν συνδέεται από το σπίτι.")
    await agent.get_by_label("Για λογαριασμό του/της").fill(f"{sofia}@example.org")
    for _ in range(40):
        await agent.get_by_role("button", name=FAQ_LABELS["submit_button"], exact=True).click()
        await agent.wait_for_load_state()
        if "notice=submitted" in agent.url:
            break
        await agent.wait_for_timeout(250)
    url = agent.url.split("?")[0]
    context = await agent.locator("#requester-context").inner_text()
    assert "Από τεχνικό για λογαριασμό του/της" in context
    assert f"{sofia}@example.org" in context

    async def resolve() -> None:
        await agent.goto(url)
        await agent.get_by_label("Το μήνυμά σας").fill("Ρυθμίσαμε ξανά τον λογαριασμό σας.")
        await agent.get_by_role("button", name="Απάντηση και επίλυση").click()
        await agent.wait_for_url("**?notice=saved")

    # Resolved; the mail's signed link rates it without a sign-in, once.
    await resolve()
    await rate_from_the_mail(browser, system, f"{sofia}@example.org", screenshots)

    # The employee reopens it within the window (seconds here), with a reason.
    await employee.goto(url)
    await employee.get_by_label("Τι δεν λύθηκε;").fill("Πάλι δεν συνδέεται.")
    await employee.get_by_role("button", name="Άνοιγμα ξανά").click()
    await employee.wait_for_url("**?notice=reopened")
    assert await employee.locator("#facts").get_by_text("Ανοιχτό").is_visible()

    # Resolved again: rated once, from the page.
    await resolve()
    await employee.goto(url)
    await employee.get_by_label("5 από 5").check()
    await employee.get_by_label("Σχόλιο (προαιρετικό)").fill("Γρήγορα και ευγενικά.")
    await employee.get_by_role("button", name="Αποστολή βαθμολογίας").click()
    await employee.wait_for_url("**?notice=rated")
    rated = employee.locator("#rate").get_by_text("Ευχαριστούμε για τη βαθμολογία σας.")
    assert await rated.is_visible()
    assert await employee.get_by_role("button", name="Αποστολή βαθμολογίας").count() == 0
    await employee.screenshot(path=str(screenshots / "workspace-04-rated-el.png"))

    # Closing is final: the composer asks once more, keeping the choice.
    await agent.goto(url)
    await agent.get_by_label("Αλλαγή κατάστασης").select_option("closed")
    await agent.get_by_role("button", name="Αποστολή απάντησης").click()
    confirm = agent.get_by_label("Ναι, κλείσιμο του αιτήματος")
    await confirm.wait_for()
    assert await agent.locator("#facts").get_by_text("Επιλύθηκε").is_visible()  # not yet
    assert await agent.get_by_label("Αλλαγή κατάστασης").input_value() == "closed"
    await confirm.check()
    await agent.get_by_role("button", name="Αποστολή απάντησης").click()
    await agent.wait_for_url("**?notice=saved")
    assert await agent.locator("#facts").get_by_text("Κλειστό").is_visible()

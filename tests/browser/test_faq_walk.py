"""The FAQ's three procedures, in Greek, exactly as written, in a real browser;
then an agent answers the Critical request in English.

One walk through the running system (all services as processes, real NATS,
real PostgreSQL, the SMTP sink): each step is a page the FAQ names, and each
page is saved as a screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.gateway.portal.i18n import FAQ_LABELS
from tests import operator
from tests.e2e.harness import System, mail_text
from tests.servers import Servers

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "Κωδικός-Δοκιμής-2026"
NEW_PASSWORD = "Νέος-κωδικός-σύνδεσης-7"
AGENT_PASSWORD = "agent-password-2026"
PHONE = {"width": 390, "height": 844}


def link_in(message: EmailMessage, page: str) -> str:
    found = re.search(
        rf"https?://\S+/helpdesk/(?:el|en)/{page}\?token=[\w\-.~%]+", mail_text(message)
    )
    assert found, f"no {page} link in:\n{mail_text(message)}"
    return found.group(0)


class Walk:
    """Screenshots numbered in the order of the walk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    async def shot(self, page: Any, name: str) -> None:
        self.count += 1
        await page.screenshot(
            path=str(self.directory / f"{self.count:02d}-{name}.png"), full_page=True
        )


async def create_agent(servers: Servers, username: str, email: str) -> None:
    """An agent, made as an operator would: identity's create_user over NATS."""
    await operator.create_user(
        servers, username, role=Role.AGENT, name="Alex Agent", email=email, password=AGENT_PASSWORD
    )


async def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


async def test_faq_procedures_in_greek_and_an_agent_answering_in_english(
    system: System, browser: Any, screenshots: Path
) -> None:
    walk = Walk(screenshots)
    suffix = uuid.uuid4().hex[:6]
    username = f"μαρία.{suffix}"
    email = f"maria.{suffix}@example.gr"
    customer = await browser.new_context(base_url=system.url, locale="el-GR")
    page = await customer.new_page()

    # --- Δημιουργία λογαριασμού ---------------------------------------------------------
    # 1. Επισκεφθείτε το IPtech Helpdesk από το link .../helpdesk/el/
    await page.goto("/helpdesk/el/")
    assert await page.locator("html").get_attribute("lang") == "el"
    await walk.shot(page, "home-el")
    # 2. Επιλέξτε Εγγραφή χρήστη.
    await page.get_by_role("link", name=FAQ_LABELS["register_link"]).first.click()
    await page.wait_for_url("**/helpdesk/el/register")
    # 3. Συμπληρώσε τα σωστά στοιχεία στην φόρμα που ακολουθεί — first a wrong one:
    # the form comes back with what was typed and says what is wrong, field by field.
    await page.get_by_label("Ονοματεπώνυμο").fill("Μαρία Παπαδοπούλου")
    await page.get_by_label(FAQ_LABELS["username_label"]).fill(username)
    await page.get_by_label("Διεύθυνση email").fill("όχι-email")
    await page.get_by_label("Κωδικός σύνδεσης").fill(PASSWORD)
    await page.get_by_label("Επιβεβαίωση κωδικού").fill("άλλος κωδικός")
    await page.get_by_role("button", name=FAQ_LABELS["register_button"], exact=True).click()
    await page.wait_for_selector("#form-error")
    assert await page.get_by_label("Ονοματεπώνυμο").input_value() == "Μαρία Παπαδοπούλου"
    assert await page.get_by_label(FAQ_LABELS["username_label"]).input_value() == username
    assert await page.get_by_label("Κωδικός σύνδεσης").input_value() == ""  # never echoed
    assert await page.locator("#f-email-error").is_visible()
    assert await page.locator("#f-password_confirm-error").is_visible()
    await walk.shot(page, "register-errors-el")
    await page.get_by_label("Διεύθυνση email").fill(email)
    await page.get_by_label("Κωδικός σύνδεσης").fill(PASSWORD)
    await page.get_by_label("Επιβεβαίωση κωδικού").fill(PASSWORD)
    # 4. Επιλέξτε Εγγραφή ... το σύστημα σας ενημερωσει με το εξής μήνυμα:
    await page.get_by_role("button", name=FAQ_LABELS["register_button"], exact=True).click()
    await page.wait_for_selector("#registered")
    assert (await page.locator("#registered").inner_text()).strip() == FAQ_LABELS[
        "registered_message"
    ]
    await walk.shot(page, "registered-el")
    # 5.-6. Επιστρέψτε στο email σας ... ακολουθείτε τις οδηγίες για να ενεργοποιήσετε
    activation = system.wait_for_mail(email, lambda m: "/activate?token=" in mail_text(m))
    activation_link = link_in(activation, "activate")
    await page.goto(activation_link)
    # The link alone changes nothing (mail scanners follow links): the page asks for
    # the password chosen at registration, which proves who registered.
    await page.get_by_label("Κωδικός σύνδεσης").fill(PASSWORD)
    await walk.shot(page, "activate-el")
    await page.get_by_role("button", name="Ενεργοποίηση", exact=True).click()
    await page.wait_for_selector("#message")
    shown = await page.locator("#message").inner_text()
    assert "ενεργοποιήθηκε" in shown, (email, str(system.workdir), activation_link)
    await walk.shot(page, "activated-el")

    # --- Σύνδεση (with the keyboard only) -----------------------------------------------------
    await page.goto("/helpdesk/el/")
    await page.get_by_role("link", name=FAQ_LABELS["login_link"]).first.click()
    await page.wait_for_url("**/helpdesk/el/login")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.get_by_label(FAQ_LABELS["username_label"]).focus()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/helpdesk/el/tickets")
    await page.get_by_role("button", name="Αποσύνδεση").click()
    await page.wait_for_url("**/helpdesk/el/?notice=logged_out")

    # --- Έχω ξεχάσει το όνομα σύνδεσης ή/και τον κωδικό σύνδεσης --------------------------
    # 2. Επιλέξτε Σύνδεση χρήστη. 3. Κάτω από το λεκτικό Σύνδεση ... Ξεχάσατε το όνομα χρήστη;
    await page.get_by_role("link", name=FAQ_LABELS["login_link"]).first.click()
    assert await page.get_by_role("heading", name=FAQ_LABELS["login_heading"]).is_visible()
    await walk.shot(page, "login-el")
    await page.get_by_role("link", name=FAQ_LABELS["forgot_username_link"]).click()
    await page.wait_for_url("**/helpdesk/el/forgot-username")
    # 4. Παρακαλώ, εισάγετε τη διεύθυνση ... 5. Επιλέξτε Υποβολή
    assert await page.get_by_text(FAQ_LABELS["enter_account_email"]).is_visible()
    await page.get_by_label("Διεύθυνση email").fill(email)
    await walk.shot(page, "forgot-username-el")
    await page.get_by_role("button", name=FAQ_LABELS["submit_button"], exact=True).click()
    await page.wait_for_selector("#message")
    # 6.-7. Επιστρέψτε στο email σε λίγα λεπτά ...
    reminder = system.wait_for_mail(email, lambda m: username in mail_text(m))
    assert username in mail_text(reminder)

    # ... ή Ξεχάσατε τον κωδικό σας;
    await page.goto("/helpdesk/el/login")
    await page.get_by_role("link", name=FAQ_LABELS["forgot_password_link"]).click()
    await page.wait_for_url("**/helpdesk/el/forgot-password")
    await page.get_by_label("Διεύθυνση email").fill(email)
    await page.get_by_role("button", name=FAQ_LABELS["submit_button"], exact=True).click()
    await page.wait_for_selector("#message")
    await walk.shot(page, "forgot-password-sent-el")
    reset = system.wait_for_mail(email, lambda m: "/reset-password?token=" in mail_text(m))
    await page.goto(link_in(reset, "reset-password"))
    await page.get_by_label("Νέος κωδικός σύνδεσης").fill(NEW_PASSWORD)
    await page.get_by_label("Επιβεβαίωση κωδικού").fill(NEW_PASSWORD)
    await walk.shot(page, "reset-password-el")
    await page.get_by_role("button", name="Αποθήκευση").click()
    await page.wait_for_selector("#message")
    assert "άλλαξε" in await page.locator("#message").inner_text()

    # --- Δημιουργία αιτήματος υποστήριξης ή ερώτημα ---------------------------------------
    # 2. Επιλέξτε Σύνδεση χρήστη. 3. Πληκτρολογιστε το Όνομα σύνδεσης και τον κωδικό σας
    # και πατήστε Σύνδεση.
    await page.goto("/helpdesk/el/")
    await page.get_by_role("link", name=FAQ_LABELS["login_link"]).first.click()
    await page.get_by_label(FAQ_LABELS["username_label"]).fill(username)
    await page.get_by_label("Κωδικός σύνδεσης").fill(NEW_PASSWORD)
    await page.get_by_role("button", name=FAQ_LABELS["login_button"], exact=True).click()
    await page.wait_for_url("**/helpdesk/el/tickets")
    # Two lesser requests first, so the agents' queue has something to sort.
    for subject, label in (("Ερώτηση για τον εκτυπωτή", "Χαμηλή"), ("Δεν ανοίγει το ERP", "Υψηλή")):
        await page.goto("/helpdesk/el/tickets/new")
        await page.get_by_label("Θέμα").fill(subject)
        await page.get_by_label(label, exact=True).check()
        await page.get_by_label("Περιγραφή").fill(f"{subject}.")
        await page.get_by_role("button", name=FAQ_LABELS["submit_button"], exact=True).click()
        await page.wait_for_url("**?notice=submitted")
    await page.goto("/helpdesk/el/tickets")
    # 4. Επιλέξτε Υποβολή αιτήματος
    await page.get_by_role("link", name=FAQ_LABELS["new_ticket_link"]).first.click()
    await page.wait_for_url("**/helpdesk/el/tickets/new")
    # The five priorities with the FAQ's definitions beside the choice.
    for label in ("Χαμηλή", "Κανονική", "Υψηλή", "Επείγουσα", "Κρίσιμη"):
        assert await page.get_by_label(label, exact=True).count() == 1
    assert await page.get_by_text(
        "Όταν δεν είναι προσβάσιμοι βασικοί πόροι λειτουργίας της επιχείρησης"
    ).is_visible()
    # 5. Συμπληρώσε τα σωστά στοιχεία στην φόρμα που ακολουθεί
    await page.get_by_label("Θέμα").fill("Δεν λειτουργεί το δίκτυο σε όλη την εταιρεία")
    await page.get_by_label("Κρίσιμη", exact=True).check()
    await page.get_by_label("Κατηγορία").select_option("network")
    await page.get_by_label("Περιγραφή").fill(
        "Από τις 9:00 κανένας υπολογιστής δεν έχει πρόσβαση στο δίκτυο και στον server.\n"
        "Δεν γνωρίζουμε την αιτία. <script>alert(1)</script>"
    )
    await walk.shot(page, "new-ticket-el")
    # 6. Επιλέξτε Υποβολή
    await page.get_by_role("button", name=FAQ_LABELS["submit_button"], exact=True).click()
    await page.wait_for_url(re.compile(r".*/helpdesk/el/tickets/[0-9a-f-]{36}\?notice=submitted"))
    ticket_url = page.url.split("?")[0]
    assert await page.get_by_text("Το αίτημά σας υποβλήθηκε.").is_visible()
    assert await page.locator(".facts .badge.p-critical").inner_text() == "Κρίσιμη"
    # Escaped, shown as text: the page runs no script of the requester's.
    assert "<script>alert(1)</script>" in await page.locator(".description .body").inner_text()
    await walk.shot(page, "ticket-submitted-el")

    # On a phone: the same form, no sideways scrolling.
    phone = await browser.new_context(base_url=system.url, viewport=PHONE, is_mobile=True)
    phone_page = await phone.new_page()
    await phone_page.goto("/helpdesk/el/register")
    assert await no_horizontal_scroll(phone_page)
    await walk.shot(phone_page, "register-phone-el")
    await phone.close()

    # --- An agent answers in English --------------------------------------------------------
    agent_name = f"alex.{suffix}"
    await create_agent(system.servers, agent_name, f"alex.{suffix}@helpdesk.example")
    agent = await browser.new_context(base_url=system.url, locale="en-GB")
    apage = await agent.new_page()
    await apage.goto("/helpdesk/en/login")
    await apage.get_by_label("Username").fill(agent_name)
    await apage.get_by_label("Password").fill(AGENT_PASSWORD)
    await apage.get_by_role("button", name="Log in").click()
    await apage.wait_for_url("**/helpdesk/en/tickets")
    assert await apage.get_by_role("heading", name="Ticket queue").is_visible()
    row = apage.locator("table.queue tbody tr", has_text="Δεν λειτουργεί το δίκτυο")
    assert await row.locator(".badge").inner_text() == "Critical"
    # Soonest SLA due first: the critical request above the high, the high above the low.
    subjects = await apage.locator("table.queue tbody tr td:nth-child(2)").all_inner_texts()
    order = [
        next(i for i, s in enumerate(subjects) if s.startswith(prefix))
        for prefix in ("Δεν λειτουργεί το δίκτυο", "Δεν ανοίγει το ERP", "Ερώτηση για τον")
    ]
    assert order == sorted(order), subjects
    await walk.shot(apage, "agent-queue-en")
    # The language switch keeps the page, and the choice is remembered.
    await apage.get_by_role("link", name="Ελληνικά").click()
    await apage.wait_for_url("**/helpdesk/el/tickets")
    assert await apage.get_by_role("heading", name="Ουρά αιτημάτων").is_visible()
    await apage.goto("/helpdesk/")
    await apage.wait_for_url("**/helpdesk/el/")
    await apage.goto("/helpdesk/en/tickets")
    await row.get_by_role("link", name="Δεν λειτουργεί το δίκτυο σε όλη την εταιρεία").click()
    await apage.wait_for_url(re.compile(r".*/helpdesk/en/tickets/[0-9a-f-]{36}"))
    await apage.get_by_role("button", name="Assign to me").click()
    await apage.wait_for_url("**?notice=saved")
    await apage.get_by_label("Your message").fill(
        "We are on it: the core switch in the server room has failed. A replacement is on the way."
    )
    await apage.get_by_role("button", name="Send reply").click()
    await apage.wait_for_url("**?notice=reply_sent")
    await apage.get_by_label("Your message").fill("Switch model XS-48, spare in storage B.")
    await apage.get_by_label("Internal note").check()
    await apage.get_by_role("button", name="Send reply").click()
    await apage.wait_for_url("**?notice=note_added")
    await walk.shot(apage, "agent-ticket-en")

    # The requester sees the answer in Greek, and not the internal note.
    await page.goto(ticket_url)
    timeline = page.locator("ol.timeline")
    assert await timeline.get_by_text("the core switch in the server room has failed").is_visible()
    assert await timeline.get_by_text("spare in storage B").count() == 0
    await walk.shot(page, "ticket-answered-el")

    # A page that does not exist is a page too, in the visitor's language.
    missing = await page.goto("/helpdesk/el/tickets/00000000-0000-0000-0000-000000000000")
    assert missing is not None
    assert missing.status == 404
    assert await page.get_by_role("heading", name="Η σελίδα δεν βρέθηκε").is_visible()
    await walk.shot(page, "not-found-el")

    await customer.close()
    await agent.close()

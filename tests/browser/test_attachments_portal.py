"""Attachments in the portal, in a real browser (Debian Chromium) against the
whole system: a requester submits a ticket with a screenshot and a log file
(Greek), a renamed .exe is refused on the reply form, the agent (English) sees
the thumbnail, downloads both files and replies with one, which reaches the
requester by mail; another customer gets 404 for the download."""

from __future__ import annotations

import asyncio
import email.policy
import io
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from helpdesk.gateway.portal.i18n import FAQ_LABELS
from tests.e2e.harness import System, mail_text
from tests.e2e.test_mail_flow import answer as answer_by_mail
from tests.e2e.test_mail_flow import deliver, processed
from tests.e2e.test_tickets_flow import (
    PASSWORD,
    auth,
    login,
    register_customer,
    two_customers_and_an_agent,
    wait_mail,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00"


def screenshot_png() -> bytes:
    image = Image.new("RGB", (1200, 700), (240, 240, 240))
    for x in range(100, 1100):
        for y in (100, 101, 102):
            image.putpixel((x, y), (200, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def portal_login(browser: Any, system: System, username: str, locale: str) -> Any:
    context = await browser.new_context(base_url=system.url, locale=locale, accept_downloads=True)
    page = await context.new_page()
    await page.goto("/helpdesk/el/login")
    await page.get_by_label(FAQ_LABELS["username_label"]).fill(username)
    await page.get_by_label("Κωδικός σύνδεσης").fill(PASSWORD)
    await page.get_by_role("button", name=FAQ_LABELS["login_button"], exact=True).click()
    await page.wait_for_url("**/helpdesk/el/tickets")
    return page


async def test_files_on_tickets_and_replies_in_the_portal(
    system: System, browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        maria_email = (await two_customers_and_an_agent(system, client, tag)).email
    shot = tmp_path / "οθόνη-σφάλματος.png"
    shot.write_bytes(screenshot_png())
    log = tmp_path / "outlook.log"
    log.write_bytes("2026-11-26 09:14 ERROR Αποτυχία σύνδεσης\n".encode() * 500)
    exe = tmp_path / "screenshot.png"
    exe.write_bytes(PE)

    # The requester, in Greek: a new ticket with a screenshot and a log file.
    page = await portal_login(browser, system, f"maria{tag}", "el-GR")
    await page.goto("/helpdesk/el/tickets/new")
    hint = await page.locator("#f-file-hint").inner_text()
    assert "20 MB" in hint
    await page.get_by_label("Θέμα").fill(f"[{tag}] Σφάλμα στο Outlook")
    await page.get_by_label("Περιγραφή").fill("Βλέπε το στιγμιότυπο και το log.")
    await page.get_by_label("Συνημμένα αρχεία").set_input_files([str(shot), str(log)])
    await page.screenshot(
        path=str(screenshots / "attachments-01-new-ticket-el.png"), full_page=True
    )
    await page.get_by_role("button", name=FAQ_LABELS["submit_button"], exact=True).click()
    await page.wait_for_url("**/tickets/*?notice=submitted")
    ticket_url = page.url.split("?")[0]
    ticket_path = ticket_url.split("/helpdesk/el/")[1]
    items = page.locator(".attachment-list .file-name")
    assert await items.all_inner_texts() == ["οθόνη-σφάλματος.png", "outlook.log"]
    thumb = page.locator("img.thumb")
    await thumb.wait_for()
    # The thumbnail's width once it has loaded (on a busy machine it may still be loading).
    loaded_width = (
        "img => img.complete ? img.naturalWidth : new Promise("
        "done => img.addEventListener('load', () => done(img.naturalWidth), {once: true}))"
    )
    assert await thumb.evaluate(loaded_width) == 320
    await page.screenshot(path=str(screenshots / "attachments-02-ticket-el.png"), full_page=True)

    # A renamed executable on the reply form: refused, the reply kept.
    await page.get_by_label("Το μήνυμά σας").fill("Και ένα ακόμη αρχείο.")
    await page.get_by_label("Συνημμένα αρχεία").set_input_files(str(exe))
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Αποστολή απάντησης").click()
    assert (await answer.value).status == 415
    assert "δεν γίνεται δεκτό" in await page.locator("#f-file-error").inner_text()
    assert await page.get_by_label("Το μήνυμά σας").input_value() == "Και ένα ακόμη αρχείο."
    await page.context.close()

    # The agent, in English: sees both, downloads both, replies with a file.
    page = await portal_login(browser, system, f"agent{tag}", "en-GB")
    await page.goto(f"/helpdesk/en/{ticket_path}")
    downloaded = {}
    for name in ("οθόνη-σφάλματος.png", "outlook.log"):
        async with page.expect_download() as started:
            await page.get_by_role("link", name=name, exact=True).click()
        download = await started.value
        assert download.suggested_filename == name
        downloaded[name] = Path(await download.path()).read_bytes()
    assert downloaded["outlook.log"] == log.read_bytes()
    assert Image.open(io.BytesIO(downloaded["οθόνη-σφάλματος.png"])).size == (1200, 700)
    guide = tmp_path / "steps.txt"
    guide.write_text("1. File > Account Settings\n2. Repair\n", encoding="utf-8")
    await page.get_by_label("Your message").fill("Please follow the attached steps.")
    await page.get_by_label("Attach files").set_input_files(str(guide))
    await page.get_by_role("button", name="Send reply").click()
    await page.wait_for_url("**?notice=reply_sent")
    assert "steps.txt" in await page.locator(".attachment-list").inner_text()
    await page.screenshot(path=str(screenshots / "attachments-03-agent-en.png"), full_page=True)
    link = await page.get_by_role("link", name="outlook.log", exact=True).get_attribute("href")
    await page.context.close()

    # One mail: the reply with its file, threaded (issue 26: it came as two, the
    # second without the thread headers).
    mail = await wait_mail(system, maria_email, "steps.txt")
    message = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert "Please follow the attached steps." in mail_text(message)
    [attached] = list(message.iter_attachments())  # type: ignore[attr-defined]
    assert attached.get_filename() == "steps.txt"
    assert attached.get_payload(decode=True) == guide.read_bytes()
    assert str(message["Reply-To"]).startswith("helpdesk+")
    assert message["In-Reply-To"]
    assert not str(message["Subject"]).startswith(" ")
    await asyncio.sleep(2)  # a second mail about the same files would have come by now
    about_files = [
        m
        for m in system.mail.messages()
        if maria_email in str(m["To"]) and "steps.txt" in mail_text(m)
    ]
    assert len(about_files) == 1

    # Answering that mail lands on the ticket.
    response = answer_by_mail(message, maria_email, f"Ευχαριστώ, δούλεψε ({tag}).")
    await deliver(system, response, sender=maria_email)
    assert (await processed(system, str(response["Message-ID"])))["status"] == "done"
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        token = await login(client, f"maria{tag}")
        ticket_id = ticket_path.split("/")[-1]
        detail = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))
    bodies = [e["body"] for e in detail.json()["timeline"] if e["kind"] == "TicketMessageAdded"]
    assert bodies[-1] == f"Ευχαριστώ, δούλεψε ({tag})."

    # Another customer: 404 for the download link.
    page = await portal_login(browser, system, f"maria{tag}x", "el-GR")
    response = await page.goto(str(link))
    assert response is not None
    assert response.status == 404
    await page.context.close()


async def test_a_file_refused_from_a_mail_is_named_on_the_greek_timeline(
    system: System, browser: Any, screenshots: Path
) -> None:
    """A mailed-in .exe is refused: the requester's Greek portal names it under
    "Αρχεία που δεν προστέθηκαν" with the reason in Greek (not the pipeline's
    English sentence)."""
    from tests.e2e.test_mail_flow import a_mail, deliver, known_to_tickets, processed

    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        email, _ = await register_customer(system, client, tag)
    await known_to_tickets(system, email)
    mail = a_mail(email, f"Πρόγραμμα {tag}", "Το πρόγραμμα που μου ζητήσατε.")
    mail.add_attachment(PE, maintype="application", subtype="octet-stream", filename="setup.exe")
    await deliver(system, mail, sender=email)
    row = await processed(system, str(mail["Message-ID"]), timeout=30)
    assert row["status"] == "done", row["outcome"]

    page = await portal_login(browser, system, f"maria{tag}", "el-GR")
    await page.goto(f"/helpdesk/el/tickets/{row['ticket_id']}")
    timeline = page.locator("ol li", has_text="Αρχεία που δεν προστέθηκαν")
    await timeline.wait_for()
    text = await timeline.inner_text()
    assert "setup.exe: Αυτό το είδος αρχείου δεν γίνεται δεκτό" in text
    assert "TicketAttachmentsRefused" not in await page.locator("main").inner_text()
    assert "not accepted" not in text
    await page.screenshot(path=str(screenshots / "attachments-refused-by-mail-el.png"))
    await page.context.close()

"""Files mailed in reach the ticket (issue 26, item 3), through the real listener,
tickets service, object store and notifier: a Greek mail with a PNG, a PDF and an
.exe becomes a ticket with the two files (the bytes downloaded are the bytes
mailed), the timeline names the refused .exe, and the sender is told why in
Greek. Answering the confirmation with a file puts it on the reply's message."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from PIL import Image

from tests.e2e.harness import System, mail_text
from tests.e2e.test_mail_flow import a_mail, answer, deliver, known_to_tickets, processed, ticket
from tests.e2e.test_tickets_flow import auth, register_customer, wait_mail

pytestmark = pytest.mark.e2e

PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00"
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 90), (20, 60, 160)).save(out, "PNG")
    return out.getvalue()


async def download(client: httpx.AsyncClient, token: str, path: str) -> bytes:
    response = await client.get(path, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.content


async def test_a_greek_mail_with_a_png_a_pdf_and_an_exe(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    screenshot = png()
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        email, customer = await register_customer(system, client, tag)
        await known_to_tickets(system, email)
        mail = a_mail(
            email, f"Σφάλμα στο Outlook {tag}", "Δείτε το συνημμένο στιγμιότυπο και την αναφορά."
        )
        mail.add_attachment(screenshot, maintype="image", subtype="png", filename="στιγμιότυπο.png")
        mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="αναφορά.pdf")
        mail.add_attachment(
            PE, maintype="application", subtype="octet-stream", filename="διόρθωση.exe"
        )
        await deliver(system, mail, sender=email)
        row = await processed(system, str(mail["Message-ID"]), timeout=30)
        assert row["status"] == "done", row["outcome"]
        assert row["outcome"].endswith("2 file(s) attached, 1 refused")
        ticket_id = row["ticket_id"]

        # The two files, byte for byte (a PNG without metadata is kept as it came).
        path = f"/api/v1/tickets/{ticket_id}/attachments"
        listed = await client.get(path, headers=auth(customer))
        assert listed.status_code == 200, listed.text
        items = {a["original_name"]: a for a in listed.json()["items"]}
        assert set(items) == {"στιγμιότυπο.png", "αναφορά.pdf"}
        assert items["στιγμιότυπο.png"]["content_type"] == "image/png"
        assert items["στιγμιότυπο.png"]["thumbnail"] is True
        for name, sent in (("στιγμιότυπο.png", screenshot), ("αναφορά.pdf", PDF)):
            assert (
                await download(client, customer, f"{path}/{items[name]['attachment_id']}") == sent
            )

        # The timeline names the refused one with the reason.
        timeline = (await ticket(client, customer, ticket_id))["timeline"]
        refused = [e for e in timeline if e["kind"] == "TicketAttachmentsRefused"]
        assert len(refused) == 1
        assert refused[0]["body"].startswith("διόρθωση.exe: ")
        assert refused[0]["details"]["codes"] == "unsupported_type"

        # The sender is told, in Greek (their locale), which file and why.
        told = await wait_mail(system, email, "δεν προστέθηκαν")
        text = mail_text(told)
        assert "διόρθωση.exe: αυτό το είδος αρχείου δεν γίνεται δεκτό" in text
        assert str(told["Reply-To"]).startswith("helpdesk+")

        # The same mail again (an MTA retry): nothing more on the ticket.
        await deliver(system, mail, sender=email)
        again = await client.get(path, headers=auth(customer))
        assert len(again.json()["items"]) == 2

        # A reply by mail with a file: the file is on the reply's message.
        confirmation = await wait_mail(system, email, "καταχωρήθηκε")
        response = answer(confirmation, email, f"Και το log ({tag}).")
        log = b"2026-11-24 ERROR 0x800CCC0E\n" * 30
        response.add_attachment(log, maintype="text", subtype="plain", filename="outlook.log")
        await deliver(system, response, sender=email)
        assert (await processed(system, str(response["Message-ID"])))["status"] == "done"
        detail = await ticket(client, customer, ticket_id)
        message = [e for e in detail["timeline"] if e["kind"] == "TicketMessageAdded"][-1]
        assert message["body"] == f"Και το log ({tag})."
        files = (await client.get(path, headers=auth(customer))).json()["items"]
        log_file = next(f for f in files if f["original_name"] == "outlook.log")
        assert log_file["message_id"] is not None

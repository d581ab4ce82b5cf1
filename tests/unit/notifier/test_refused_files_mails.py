"""The sender of a mail whose files were refused is told which and why, in their
language (`handlers/files.py`, issue 26)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from helpdesk.contracts.attachments import RefusedFile, TicketAttachmentsRefused
from helpdesk.contracts.tickets import Contact
from helpdesk.notifier.domain.texts import REASONS
from helpdesk.notifier.handlers.tickets import TICKET_HANDLERS
from tests.unit.notifier.fakes import run

REFUSED = [
    RefusedFile(name="LabelPrinterSetup.exe", code="unsupported_type", detail="no"),
    RefusedFile(name="huge.mov", code="file_too_large", detail="no"),
]


def refused(
    locale: str, email_address: str | None = "maria@example.gr"
) -> TicketAttachmentsRefused:
    sender = Contact(user_id=uuid4(), name="Μαρία", email=email_address, locale=locale)
    return TicketAttachmentsRefused(
        ticket_id=uuid4(),
        number="HD-2026-000042",
        at=datetime.now(UTC),
        files=REFUSED,
        by=sender,
        by_agent=False,
        requester=sender,
        subject_line="Εκτυπωτής ετικετών",
    )


@pytest.mark.parametrize(
    ("locale", "subject", "phrase"),
    [
        ("el", "Αρχεία που δεν προστέθηκαν στο αίτημά σας HD-2026-000042", "δεν προστέθηκαν"),
        ("en", "Files not added to your request HD-2026-000042", "were not added"),
    ],
)
async def test_each_refused_file_is_named_with_its_reason_in_the_sender_s_language(
    locale: str, subject: str, phrase: str
) -> None:
    [mail] = (await run(TICKET_HANDLERS, refused(locale))).queued
    assert mail.recipient == "maria@example.gr"
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert message["Subject"] == subject
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert phrase in plain
    for body in (plain, html):
        assert f"LabelPrinterSetup.exe: {REASONS['unsupported_type'][locale]}" in body
        assert f"huge.mov: {REASONS['file_too_large'][locale]}" in body


async def test_no_address_no_mail() -> None:
    assert (await run(TICKET_HANDLERS, refused("el", None))).queued == []

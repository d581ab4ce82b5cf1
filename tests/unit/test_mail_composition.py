"""A composed mail reads back as what was rendered: headers written as they are
(short ASCII), folded or encoded (long or Greek), and both parts decoded intact."""

from __future__ import annotations

import email
import uuid
from email import policy

from helpdesk.notifier.adapters.compose import ComposedMail, MailComposer
from helpdesk.notifier.settings import Settings
from tests.tokens import seal_private_key

CONTEXT = {
    "name": "Μαρία Παπαδοπούλου",
    "number": "HD-2026-000123",
    "subject": "Ο εκτυπωτής " + "μπλοκάρει " * 12,
    "priority": "Υψηλή",
    "first_response_due": "26/11/2026 16:00",
    "link": "http://localhost:8000/helpdesk/el/tickets/1",
}


def submitted_mail(
    locale: str,
    context: dict[str, str],
    to_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> ComposedMail:
    composer = MailComposer(Settings(notifier_seal_private_key=seal_private_key()))
    return composer.compose(
        event_id=uuid.uuid4(),
        to="maria@example.com",
        to_name=to_name,
        template="ticket_submitted",
        locale=locale,
        context=context,
        headers=headers,
    )


def test_every_header_and_part_reads_back() -> None:
    reply_to = "helpdesk+t." + "a" * 70 + "@example.com"  # longer than a line: folded
    mail = submitted_mail(
        "el",
        CONTEXT,
        to_name="Μαρία Παπαδοπούλου",
        headers={"Reply-To": reply_to, "In-Reply-To": "<ticket-1@helpdesk>"},
    )
    assert all(len(line) <= 998 for line in mail.data.splitlines())  # RFC 5322 limit
    assert mail.data.isascii()
    read = email.message_from_bytes(mail.data, policy=policy.default)
    assert read["To"].addresses[0].display_name == "Μαρία Παπαδοπούλου"
    assert "HD-2026-000123" in read["Subject"]
    assert read["Reply-To"].addresses[0].addr_spec == reply_to
    assert read["In-Reply-To"] == "<ticket-1@helpdesk>"
    assert read["Message-ID"] == mail.message_id
    assert read["Auto-Submitted"] == "auto-generated"
    text = read.get_body(("plain",))
    html = read.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "HD-2026-000123" in text.get_content()
    assert "Μαρία" in text.get_content()
    assert "HD-2026-000123" in html.get_content()


def test_headers_written_as_they_are_are_what_compat32_writes() -> None:
    """The shortcut past `email.header.Header` changes no byte: a short ASCII line
    (the multipart's Content-Type with its boundary too) comes out as compat32
    writes it, and a long one still goes through compat32's folding."""
    from email.policy import compat32

    from helpdesk.servicekit.mailformat import MAIL_POLICY as _POLICY

    values = [
        ("Subject", "Your request HD-2026-000123 has been received"),
        ("Reply-To", "helpdesk+" + "a" * 42 + "@example.com"),
        ("References", "<hd." + "b" * 80 + "@example.com>"),
        ("Content-Type", 'multipart/alternative; boundary="helpdesk-0123456789abcdef"'),
    ]
    for name, value in values:
        assert _POLICY.fold(name, value) == compat32.fold(name, value)
    # One with folding points that is too long still goes through compat32's folding.
    long_list = ", ".join(f"user{i}@example.com" for i in range(10))
    assert _POLICY.fold("Cc", long_list) == compat32.fold("Cc", long_list)
    assert "\n " in _POLICY.fold("Cc", long_list)
    # The composer's own multipart header is among the short ones.
    mail = submitted_mail("en", CONTEXT)
    assert b'Content-Type: multipart/alternative; boundary="helpdesk-' in mail.data


def test_an_ascii_subject_is_plain_and_a_greek_one_encoded() -> None:
    english = {**CONTEXT, "subject": "Printer"}
    for locale, context, encoded in (("en", english, False), ("el", CONTEXT, True)):
        mail = submitted_mail(locale, context)
        subject_line = next(line for line in mail.data.splitlines() if line.startswith(b"Subject:"))
        assert (b"=?utf-8?" in subject_line) is encoded
        read = email.message_from_bytes(mail.data, policy=policy.default)
        assert "HD-2026-000123" in read["Subject"]

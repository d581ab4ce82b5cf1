"""Real mail shapes (tests/mail_corpus/*.eml: Outlook, Gmail, Thunderbird, Apple
Mail, Greek charsets, HTML-only, auto-replies, a DSN, broken MIME) through the
parser and the screening: what text a ticket gets, and what creates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.mailgate.domain.message import ParsedMail, UnreadableMail, parse
from helpdesk.mailgate.domain.screening import Skip, screen
from helpdesk.mailgate.domain.text import html_to_text, trim_quoted

CORPUS = Path(__file__).resolve().parents[2] / "mail_corpus"
OWN = ("helpdesk@company.example",)


def read(name: str) -> ParsedMail:
    return parse((CORPUS / name).read_bytes())


# (file, sender, subject, the new text, a phrase of the quoted history it drops or None)
PEOPLE = [
    (
        "outlook_reply_el.eml",  # windows-1253, quoted-printable, Greek From:/Sent: block
        "maria@company.example",
        "ΑΠ: Νέα απάντηση στο αίτημα HD-2026-000042",
        "Καλημέρα,\n\nΤο άλλαξα το τόνερ αλλά πάλι βγάζει λευκές σελίδες.\n\nΕυχαριστώ,\nΜαρία",
        "δοκιμάστε να αλλάξετε το τόνερ",
    ),
    (
        "gmail_reply_en.eml",  # base64 UTF-8, "On … wrote:" wrapped over two lines
        "john.smith@company.example",
        "Re: New reply to request HD-2026-000042",
        "Thanks, that fixed it after a restart.",
        "restarting the printer",
    ),
    (
        "thunderbird_el.eml",  # format=flowed, "Στις … έγραψε:"
        "nikos@company.example",
        "Re: [HD-2026-000042] VPN",
        "Καλησπέρα,\nο υπολογιστής δεν συνδέεται στο VPN από το σπίτι.",
        "τι μήνυμα βλέπετε",
    ),
    (
        "apple_mail_el.eml",  # quoted attribution inside `>` lines
        "eleni@company.example",
        "Re: Νέα απάντηση στο αίτημα HD-2026-000077",
        "Το ποντίκι δουλεύει πάλι, ευχαριστώ!\n\nΣτάλθηκε από το iPhone μου",
        "αλλάξτε τις μπαταρίες",
    ),
    (
        "outlook_web_html_en.eml",  # HTML only, Outlook web's rule + From:/Sent: block
        "john.smith@company.example",
        "RE: New reply to request HD-2026-000042",
        "Still broken, sorry.",
        "Please try restarting the printer.",
    ),
    (
        "gmail_new_el.eml",  # a new request: multipart/mixed with a screenshot
        "anna@company.example",
        "Δεν ανοίγει το Outlook μετά την ενημέρωση",
        "Καλημέρα,\n\nΜετά την ενημέρωση των Windows το Outlook κολλάει στο «Φόρτωση προφίλ»."
        "\nΕπισυνάπτω στιγμιότυπο.\n\nΆννα",
        None,
    ),
]


@pytest.mark.parametrize(("name", "sender", "subject", "text", "dropped"), PEOPLE)
def test_peoples_mail_is_read_with_its_history_trimmed_and_kept(
    name: str, sender: str, subject: str, text: str, dropped: str | None
) -> None:
    mail = read(name)
    assert mail.sender == sender
    assert mail.subject == subject
    assert mail.text == text
    if dropped is not None:
        assert dropped not in mail.text
        assert dropped in mail.full_text  # the whole original stays
    assert screen(mail, envelope_sender=sender, own=OWN) is None


def test_greek_names_in_encoded_words_are_decoded() -> None:
    assert read("outlook_reply_el.eml").sender_name == "Μαρία Παπαδοπούλου"
    assert read("thunderbird_el.eml").sender_name == "Νίκος Γεωργίου"
    assert read("html_only_iso8859_7.eml").sender_name == "Γιώργος Π."


def test_an_html_only_iso_8859_7_mail_becomes_readable_text() -> None:
    mail = read("html_only_iso8859_7.eml")
    assert mail.subject == "Εκτυπωτής 3ου ορόφου"
    assert "ο εκτυπωτής στον 3ο όροφο δεν τυπώνει.\nΔείχνει σφάλμα 49." in mail.text
    assert "Μοντέλο: HP 4250" in mail.text
    assert "τη λίστα εκτυπωτών (https://intranet.company.example/printers)" in mail.text
    assert "alert" not in mail.text
    assert "font-family" not in mail.text


def test_threading_headers_and_attachments_are_read() -> None:
    outlook = read("outlook_reply_el.eml")
    assert outlook.message_id == "<AM0PR01MB1234ABCD@AM0PR01MB1234.eurprd01.prod.outlook.com>"
    assert outlook.references[0].startswith("<hd.")
    assert any(a.startswith("helpdesk+") for a in outlook.to)
    assert read("gmail_new_el.eml").attachments == ("screenshot.png",)


@pytest.mark.parametrize(
    ("name", "envelope_sender", "why"),
    [
        ("out_of_office_el.eml", "maria@company.example", Skip.AUTO_REPLY),
        ("vacation_en.eml", "john.smith@company.example", Skip.AUTO_REPLY),
        ("dsn_bounce.eml", "", Skip.BOUNCE),
        ("dsn_bounce.eml", None, Skip.BOUNCE),  # by IMAP: no envelope, still a report
    ],
)
def test_machines_mail_creates_nothing(name: str, envelope_sender: str | None, why: Skip) -> None:
    assert screen(read(name), envelope_sender=envelope_sender, own=OWN) is why


def test_mail_from_our_own_address_is_a_loop() -> None:
    mail = read("gmail_reply_en.eml")
    assert screen(mail, envelope_sender=None, own=("john.smith@company.example",)) is (
        Skip.OWN_ADDRESS
    )


def test_a_malformed_mail_is_still_read_and_its_defects_recorded() -> None:
    mail = read("malformed_mime.eml")
    assert mail.sender == "kostas@company.example"
    assert mail.text == "Hello, the printer is broken."
    assert "CloseBoundaryNotFoundDefect" in mail.defects
    assert mail.attachments == ("scan.pdf",)
    assert mail.date is None


def test_bytes_that_are_no_mail_are_unreadable() -> None:
    with pytest.raises(UnreadableMail):
        parse(b"")


def test_control_and_format_characters_never_reach_a_ticket() -> None:
    raw = (
        "From: a@company.example\r\nSubject: =?utf-8?q?A=E2=80=8Bb=00c?=\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nsoft\u00adhyphen zero\u200bwidth\x00nul\r\n"
    ).encode()
    mail = parse(raw)
    assert mail.subject == "Ab c"  # a control character in one line reads as a space
    assert mail.text == "softhyphen zerowidthnul"


def test_text_helpers_leave_unquoted_text_alone() -> None:
    assert trim_quoted("Just one line.\n> but a quote inside\nand more") == (
        "Just one line.\n> but a quote inside\nand more"
    )
    assert trim_quoted("> all quote") == ""
    assert html_to_text("<p>a</p><p>b<br>c</p>") == "a\n\nb\nc"

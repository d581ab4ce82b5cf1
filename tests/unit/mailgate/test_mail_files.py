"""A mail's files (issue 26): which parts are files (attachments, inline images,
winmail.dat, an attached mail), what the kit's pipeline makes of them, and what
the worker asks the tickets service — for a new ticket and for a reply, with a
refused file, a retry, and the object store away."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from uuid import uuid4

import pytest
from PIL import Image

from helpdesk.contracts.attachments import FILES_PER_MAIL_MAX, Handling
from helpdesk.contracts.mail import reply_address
from helpdesk.mailgate.domain.message import parse
from helpdesk.mailgate.handlers.deps import Deps, MailPolicy, StoredMail
from helpdesk.mailgate.handlers.process import process
from helpdesk.servicekit.clock import ManualClock
from tests.unit.mailgate.fakes import (
    FakeStore,
    FakeTickets,
    MemoryBlobs,
    claimed,
    kit_files,
    sha256,
)

CORPUS = Path(__file__).resolve().parents[2] / "mail_corpus"
KEY = b"k" * 32
SUPPORT = "helpdesk@company.example"
MARIA = "maria@company.example"
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.fixture
def blobs() -> MemoryBlobs:
    return MemoryBlobs()


@pytest.fixture
def tickets() -> FakeTickets:
    users = {MARIA, "anna@company.example", "eleni@company.example", "john.smith@company.example"}
    return FakeTickets(users=users)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(ManualClock(datetime(2026, 11, 24, 9, tzinfo=UTC)))


@pytest.fixture
def deps(store: FakeStore, tickets: FakeTickets, blobs: MemoryBlobs) -> Deps:
    policy = MailPolicy(reply_key=KEY, support=(SUPPORT,), own=(SUPPORT,), hourly_limit=50)
    return Deps(store, tickets, store.clock, policy, kit_files(blobs))


def kept(raw: bytes, sender: str = MARIA) -> StoredMail:
    return StoredMail(uuid4(), raw, envelope_from=sender, recipients=(SUPPORT,))


# --- which parts are files ------------------------------------------------------------------


def test_outlooks_inline_images_and_winmail_dat_are_files_and_the_text_is_kept() -> None:
    mail = parse(read("outlook_inline_images_el.eml"))
    assert [(f.name, f.content_type, f.inline) for f in mail.files] == [
        ("image001.png", "image/png", True),
        ("image002.jpg", "image/jpeg", True),
        ("winmail.dat", "application/ms-tnef", False),
    ]
    assert mail.text.startswith("Καλημέρα,\n\nΔείτε το συνημμένο στιγμιότυπο")
    assert mail.attachments == ("image001.png", "image002.jpg", "winmail.dat")


def test_gmails_two_attachments_keep_their_greek_names() -> None:
    mail = parse(read("gmail_two_attachments_el.eml"))
    assert [(f.name, f.content_type, f.inline) for f in mail.files] == [
        ("Αναφορά σφάλματος.pdf", "application/pdf", True),  # Gmail gives files a Content-ID
        ("printer.log", "text/plain", False),
    ]
    assert mail.files[0].data.startswith(b"%PDF-")
    assert "Σας στέλνω την αναφορά σφάλματος" in mail.text


def test_apple_mails_heic_photo_between_two_texts_is_a_file() -> None:
    mail = parse(read("apple_mail_heic_el.eml"))
    (photo,) = mail.files
    assert (photo.name, photo.content_type, photo.inline) == ("IMG_0042.HEIC", "image/heic", True)
    assert mail.text == "Η οθόνη έχει μια γραμμή από χθες, σας στέλνω φωτογραφία:"


def test_an_unnamed_part_an_attached_mail_and_a_signature() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Προωθημένο"
    inner.set_content("κείμενο")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MARIA, SUPPORT, "x"
    mail.set_content("Κείμενο.")
    mail.add_attachment(PDF, maintype="application", subtype="pdf")  # no name at all
    mail.add_attachment(inner)  # message/rfc822
    mail.add_attachment(b"sig", maintype="application", subtype="pkcs7-signature")
    parsed = parse(mail.as_bytes())
    assert [(f.index, f.name, f.content_type) for f in parsed.files] == [
        (1, "attachment-1.pdf", "application/pdf"),
        (2, "message.eml", "message/rfc822"),
    ]
    assert parse(parsed.files[1].data).subject == "Προωθημένο"
    assert parsed.text == "Κείμενο."


def test_attachment_ids_come_from_the_mail_and_the_part() -> None:
    first = parse(read("gmail_two_attachments_el.eml"))
    again = parse(read("gmail_two_attachments_el.eml"))
    ids = [f.attachment_id(first.key) for f in first.files]
    assert ids == [f.attachment_id(again.key) for f in again.files]
    assert len(set(ids)) == 2
    assert first.files[0].attachment_id("<another@mail>") not in ids


# --- what the worker does with them ---------------------------------------------------------


async def test_a_new_ticket_gets_the_files_and_the_refused_one_is_named(
    deps: Deps, tickets: FakeTickets, blobs: MemoryBlobs
) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MARIA, SUPPORT, "Οθόνη"
    mail["Message-ID"] = "<three.files@client.example>"
    mail.set_content("Δείτε τα συνημμένα.")
    mail.add_attachment(png(), maintype="image", subtype="png", filename="οθόνη.png")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="report.pdf")
    mail.add_attachment(PE, maintype="application", subtype="octet-stream", filename="fix.exe")
    outcome = await process(kept(mail.as_bytes()), deps)
    assert outcome is not None
    assert outcome.status == "done"
    assert outcome.detail.endswith("2 file(s) attached, 1 refused")
    (submitted,) = tickets.submitted
    (attach,) = tickets.attached
    assert (attach.mail_id, attach.sender, attach.message_id) == (submitted.mail_id, MARIA, None)
    assert [(f.original_name, f.content_type) for f in attach.files] == [
        ("οθόνη.png", "image/png"),
        ("report.pdf", "application/pdf"),
    ]
    assert attach.files[0].handling is Handling.INLINE
    assert attach.files[0].thumbnail
    # Byte-identical in the store (a PNG without metadata is kept as it came).
    assert blobs.objects[attach.files[0].sha256] == png()
    assert blobs.objects[attach.files[1].sha256] == PDF
    ((refused),) = attach.refused
    assert (refused.name, refused.code) == ("fix.exe", "unsupported_type")
    assert sha256(PE) not in blobs.objects


async def test_a_reply_puts_its_files_on_its_message(deps: Deps, tickets: FakeTickets) -> None:
    ticket_id = uuid4()
    tickets.participants[ticket_id] = {MARIA}
    mail = EmailMessage()
    mail["From"], mail["Subject"] = MARIA, "Re: Οθόνη"
    mail["To"] = reply_address(SUPPORT, KEY, ticket_id)
    mail.set_content("Και το log.")
    mail.add_attachment(b"ERROR 42\n" * 20, maintype="text", subtype="plain", filename="a.log")
    await process(kept(mail.as_bytes()), deps)
    (_reply,) = tickets.replies
    (attach,) = tickets.attached
    assert attach.ticket_id == ticket_id
    assert attach.message_id is not None  # the message the reply became
    assert [f.file_name for f in attach.files] == ["a.log"]


async def test_exif_is_stripped_from_outlooks_inline_photo_and_winmail_dat_kept_whole(
    deps: Deps, tickets: FakeTickets, blobs: MemoryBlobs
) -> None:
    raw = read("outlook_inline_images_el.eml")
    parts = {f.name: f.data for f in parse(raw).files}
    await process(kept(raw), deps)
    (attach,) = tickets.attached
    by_name = {f.original_name: f for f in attach.files}
    assert set(by_name) == {"image001.png", "image002.jpg", "winmail.dat"}
    assert attach.refused == []
    photo = blobs.objects[by_name["image002.jpg"].sha256]
    assert photo != parts["image002.jpg"]
    with Image.open(io.BytesIO(photo)) as image:
        assert not image.getexif()  # the GPS position is gone
    tnef = by_name["winmail.dat"]
    assert tnef.content_type == "application/vnd.ms-tnef"
    assert blobs.objects[tnef.sha256] == parts["winmail.dat"]


@pytest.mark.parametrize(
    ("name", "sender", "files", "refused"),
    [
        ("gmail_two_attachments_el.eml", "anna@company.example", 2, []),
        ("apple_mail_heic_el.eml", "eleni@company.example", 1, []),
        ("attachment_refused_en.eml", "john.smith@company.example", 0, ["unsupported_type"]),
    ],
)
async def test_the_corpus_through_the_worker(
    deps: Deps, tickets: FakeTickets, name: str, sender: str, files: int, refused: list[str]
) -> None:
    outcome = await process(kept(read(name), sender), deps)
    assert outcome is not None
    assert outcome.status == "done", outcome
    (attach,) = tickets.attached
    assert len(attach.files) == files
    assert [r.code for r in attach.refused] == refused


async def test_a_mail_without_files_asks_nothing_more(deps: Deps, tickets: FakeTickets) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MARIA, SUPPORT, "Χωρίς αρχεία"
    mail.set_content("Μόνο κείμενο.")
    await process(kept(mail.as_bytes()), deps)
    assert len(tickets.submitted) == 1
    assert tickets.attached == []


async def test_an_unknown_sender_s_files_are_not_stored(
    deps: Deps, tickets: FakeTickets, blobs: MemoryBlobs
) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "stranger@example.org", SUPPORT, "x"
    mail.set_content("x")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="a.pdf")
    outcome = await process(kept(mail.as_bytes(), "stranger@example.org"), deps)
    assert outcome is not None
    assert outcome.detail == "unknown_sender"
    assert blobs.objects == {}
    assert tickets.attached == []


async def test_the_store_away_makes_the_mail_wait_and_the_retry_is_the_same(
    deps: Deps, tickets: FakeTickets, store: FakeStore, blobs: MemoryBlobs
) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MARIA, SUPPORT, "Αρχείο"
    mail["Message-ID"] = "<retry.files@client.example>"
    mail.set_content("x")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="a.pdf")
    stored = await claimed(store, kept(mail.as_bytes()))
    blobs.down = True
    assert await process(stored, deps) is None  # waits
    assert store.retries
    assert tickets.attached == []
    blobs.down = False
    outcome = await process(stored, deps)
    assert outcome is not None
    assert outcome.status == "done"
    (attach,) = tickets.attached
    # Both attempts asked for the same ticket (idempotent by Message-ID on the tickets
    # side), and the file's id is the one the mail gives it.
    assert [s.mail_id for s in tickets.submitted] == ["<retry.files@client.example>"] * 2
    assert attach.files[0].attachment_id == parse(stored.raw).files[0].attachment_id(
        "<retry.files@client.example>"
    )


async def test_files_past_the_per_mail_count_are_refused_by_name(
    deps: Deps, tickets: FakeTickets
) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MARIA, SUPPORT, "Πολλά"
    mail.set_content("x")
    for n in range(FILES_PER_MAIL_MAX + 2):
        data = f"line {n}\n".encode() * 10
        mail.add_attachment(data, maintype="text", subtype="plain", filename=f"{n}.log")
    await process(kept(mail.as_bytes()), deps)
    (attach,) = tickets.attached
    assert len(attach.files) == FILES_PER_MAIL_MAX
    assert [(r.name, r.code) for r in attach.refused] == [
        (f"{n}.log", "too_many_files") for n in (FILES_PER_MAIL_MAX, FILES_PER_MAIL_MAX + 1)
    ]

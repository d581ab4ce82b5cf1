"""Agent files in the requester's mail: attached up to the cap, links beyond; a
reply's files in the reply's one mail; the sender puts the bytes in at send
time from the blob store. Use cases against the fakes (tests/unit/notifier/fakes.py)."""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from helpdesk.contracts.attachments import StoredFile, TicketAttachmentsAdded
from helpdesk.contracts.tickets import Contact, SlaSchedule, TicketMessageAdded, TicketStatus
from helpdesk.notifier.adapters.compose import ComposedMail
from helpdesk.notifier.adapters.mail_files import MailFiles
from helpdesk.notifier.domain.files import MailFile
from helpdesk.notifier.handlers.tickets import TICKET_HANDLERS
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.blobs import BlobInfo, BlobUnavailable
from tests.unit.notifier.fakes import run, settings


class MemoryBlobs:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    async def info(self, name: str) -> BlobInfo | None:
        data = self.objects.get(name)
        return None if data is None else BlobInfo(name, len(data), name, "n", 4)

    async def read(
        self, info: BlobInfo, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        data = self.objects[info.name][start:end]
        for i in range(0, len(data), 4):
            yield data[i : i + 4]


def stored(name: str, data: bytes) -> StoredFile:
    return StoredFile(
        attachment_id=uuid4(),
        file_name=name,
        original_name=name,
        size=len(data),
        content_type="text/plain",
        sha256=hashlib.sha256(data).hexdigest(),
    )


MARIA = Contact(user_id=uuid4(), name="Μαρία", email="maria@example.gr", locale="el")


def files_added(
    files: list[StoredFile], *, by_agent: bool = True, internal: bool = False
) -> TicketAttachmentsAdded:
    return TicketAttachmentsAdded(
        ticket_id=uuid4(),
        number="HD-2026-000007",
        at=datetime.now(UTC),
        files=files,
        by=Contact(user_id=uuid4(), name="Κώστας"),
        by_agent=by_agent,
        internal=internal,
        requester=MARIA,
        subject_line="VPN",
    )


@pytest.fixture
def capped() -> Settings:
    return settings(mail_attachment_max_bytes=100)


async def test_files_up_to_the_cap_are_attached_and_the_rest_linked(capped: Settings) -> None:
    small, big = b"a" * 60, b"b" * 60
    files = [stored("οδηγίες.txt", small), stored("big.log", big)]
    outbox = await run(TICKET_HANDLERS, files_added(files), capped)
    [mail] = outbox.queued
    assert [a.file_name for a in mail.attachments] == ["οδηγίες.txt"]
    composed = email.message_from_bytes(mail.data, policy=email.policy.default)
    plain = composed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"/attachments/{files[1].attachment_id}" in plain
    assert "big.log" in plain

    sent = await MailFiles(MemoryBlobs({files[0].sha256: small}))(mail)  # type: ignore[arg-type]
    message = email.message_from_bytes(sent.data, policy=email.policy.default)
    [attachment] = list(message.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_filename() == "οδηγίες.txt"
    assert attachment.get_content() in (small, small.decode())
    assert message["Message-ID"] == mail.message_id
    assert "Μαρία" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_internal_and_requester_files_send_nothing(capped: Settings) -> None:
    note = await run(TICKET_HANDLERS, files_added([stored("n.txt", b"x")], internal=True), capped)
    own = await run(TICKET_HANDLERS, files_added([stored("n.txt", b"x")], by_agent=False), capped)
    assert note.queued == own.queued == []


async def test_a_file_missing_from_the_store_delays_the_mail() -> None:
    mail = ComposedMail(
        "a@x",
        "b@x",
        "<m@x>",
        b"Subject: x\r\n\r\nbody",
        (MailFile("0" * 64, "f.txt", "text/plain"),),
    )
    with pytest.raises(BlobUnavailable):
        await MailFiles(MemoryBlobs({}))(mail)  # type: ignore[arg-type]


async def test_files_that_came_with_a_reply_send_no_mail_of_their_own(capped: Settings) -> None:
    event = files_added([stored("steps.txt", b"x")]).model_copy(
        update={"with_message": True, "message_id": uuid4()}
    )
    outbox = await run(TICKET_HANDLERS, event, capped)
    assert outbox.queued == []


async def test_an_agent_reply_with_files_is_one_mail_carrying_them(capped: Settings) -> None:
    small, big = b"a" * 60, b"b" * 60
    files = [stored("steps.txt", small), stored("big.log", big)]
    reply = TicketMessageAdded(
        ticket_id=uuid4(),
        number="HD-2026-000007",
        at=datetime.now(UTC),
        message_id=uuid4(),
        author=Contact(user_id=uuid4(), name="Κώστας"),
        by_agent=True,
        body="Δείτε τα βήματα.",
        internal=False,
        requester=MARIA,
        status=TicketStatus.OPEN,
        sla=SlaSchedule(),
        files=files,
    )
    outbox = await run(TICKET_HANDLERS, reply, capped)
    [mail] = outbox.queued
    assert [a.file_name for a in mail.attachments] == ["steps.txt"]  # the other past the cap
    plain = email.message_from_bytes(mail.data, policy=email.policy.default).get_body(("plain",))
    text = plain.get_content()  # type: ignore[union-attr]
    assert "Δείτε τα βήματα." in text
    assert "steps.txt (επισυνάπτεται σε αυτό το email)" in text
    assert f"attachments/{files[1].attachment_id}" in text

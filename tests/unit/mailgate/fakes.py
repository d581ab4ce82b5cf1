"""In-memory stand-ins for the mailgate's ports (`handlers/deps.py`)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO
from uuid import UUID, uuid4

from helpdesk.contracts.attachments import AttachFromMail, FilesAttached
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    MessageAdded,
    ReplyFromMail,
    SubmitFromMail,
    Submitted,
    TicketStatus,
)
from helpdesk.mailgate.adapters.files import KitFiles
from helpdesk.mailgate.handlers.deps import Kept, Outcome, StoredMail
from helpdesk.servicekit.blobs import BlobInfo, BlobUnavailable


@dataclass
class FakeStore:
    outcomes: dict[UUID, Outcome] = field(default_factory=dict)
    retries: list[tuple[UUID, float]] = field(default_factory=list)
    recent: int = 0  # what mails_from answers

    async def keep(
        self, raw: bytes, *, envelope_from: str | None, recipients: Sequence[str], source: str
    ) -> Kept:
        return Kept(uuid4(), duplicate=False)

    async def claim(self, limit: int) -> list[StoredMail]:
        return []

    async def mails_from(self, sender: str, since: datetime) -> int:
        return self.recent

    async def finish(self, mail: StoredMail, outcome: Outcome) -> None:
        self.outcomes[mail.mail_id] = outcome

    async def retry_later(self, mail: StoredMail, error: str, delay: float) -> None:
        self.retries.append((mail.mail_id, delay))


@dataclass
class FakeTickets:
    """Knows some addresses; answers like the tickets service's mail handlers."""

    users: set[str] = field(default_factory=set)
    participants: dict[UUID, set[str]] = field(default_factory=dict)
    numbers: dict[str, UUID] = field(default_factory=dict)
    closed: set[UUID] = field(default_factory=set)
    down: bool = False
    submitted: list[SubmitFromMail] = field(default_factory=list)
    replies: list[ReplyFromMail] = field(default_factory=list)
    attached: list[AttachFromMail] = field(default_factory=list)

    async def submit(self, command: SubmitFromMail) -> Submitted:
        if self.down:
            raise TimeoutError("no responders")
        if command.sender not in self.users:
            raise Refused("unknown", code="unknown_sender")
        self.submitted.append(command)
        return Submitted(
            ticket_id=uuid4(),
            number="HD-2026-000001",
            status=TicketStatus.SUBMITTED,
            priority=Priority.NORMAL,
            queue="service-desk",
            first_response_due=None,
            resolution_due=None,
        )

    async def reply(self, command: ReplyFromMail) -> MessageAdded:
        if self.down:
            raise Refused("later", code="unavailable")
        if command.sender not in self.users:
            raise Refused("unknown", code="unknown_sender")
        ticket_id = command.ticket_id or self.numbers.get(command.number or "")
        if ticket_id is None or ticket_id not in self.participants:
            raise Refused("no such ticket", code="not_found")
        if command.sender not in self.participants[ticket_id]:
            raise Refused("not yours", code="not_participant")
        if ticket_id in self.closed:
            raise Refused("closed", code="ticket_closed")
        self.replies.append(command)
        return MessageAdded(ticket_id=ticket_id, message_id=uuid4(), status=TicketStatus.OPEN)

    async def attach(self, command: AttachFromMail) -> FilesAttached:
        if self.down:
            raise TimeoutError("no responders")
        self.attached.append(command)
        return FilesAttached(
            ticket_id=command.ticket_id,
            added=[f.attachment_id for f in command.files],
            refused=command.refused,
        )


@dataclass
class MemoryBlobs:
    """The kit's BlobStore in memory; `down` answers like NATS away."""

    objects: dict[str, bytes] = field(default_factory=dict)
    down: bool = False
    puts: int = 0

    async def info(self, name: str) -> BlobInfo | None:
        data = self.objects.get(name)
        return None if data is None else BlobInfo(name, len(data), name, "n", 1)

    async def put(self, name: str, source: BinaryIO) -> BlobInfo:
        if self.down:
            raise BlobUnavailable("put: no responders")
        self.puts += 1
        self.objects[name] = source.read()
        return BlobInfo(name, len(self.objects[name]), name, "n", 1)

    async def read(
        self, info: BlobInfo, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        yield self.objects[info.name][start:end]

    async def delete(self, name: str) -> bool:
        return self.objects.pop(name, None) is not None


def kit_files(blobs: MemoryBlobs, max_bytes: int = 1024 * 1024) -> KitFiles:
    """The real pipeline (sniffing, EXIF, limits) over the in-memory store."""
    return KitFiles(blobs, max_bytes=max_bytes, clamd_url=None)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

"""In-memory stand-ins for the mailgate's ports (`handlers/deps.py`)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
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
from helpdesk.mailgate.adapters.store import LEASE_SECONDS, message_id_of
from helpdesk.mailgate.handlers.deps import Kept, Outcome, StoredMail
from helpdesk.servicekit.blobs import BlobInfo, BlobUnavailable
from helpdesk.servicekit.clock import Clock


@dataclass
class _Row:
    """One mail in the fake store: a row of PostgreSQL's `mails`."""

    mail: StoredMail
    sha256: str
    message_id: str | None
    received_at: datetime
    not_before: datetime  # the lease or the back-off
    written: int  # when `not_before` was last set: breaks ties of a frozen clock
    outcome: Outcome | None = None  # none while the mail waits ("received")
    sender: str | None = None
    last_error: str | None = None


@dataclass
class FakeStore:
    """The mail store in memory, as `PostgresMailStore` keeps it (the contract suite
    tests/integration/mailgate/test_store_contract.py holds both to it): one mail per
    Message-ID / SHA-256, leases and back-offs in `clock`'s time (PostgreSQL's now()),
    and what `finish` and `retry_later` do to a mail it does not hold: nothing."""

    clock: Clock
    rows: dict[UUID, _Row] = field(default_factory=dict)
    # Every back-off asked for a mail held (PostgreSQL keeps only the last one).
    retries: list[tuple[UUID, float]] = field(default_factory=list)
    writes: int = 0

    @property
    def outcomes(self) -> dict[UUID, Outcome]:
        """What each processed mail became."""
        return {mail_id: r.outcome for mail_id, r in self.rows.items() if r.outcome is not None}

    def _stamp(self) -> int:
        # PostgreSQL's now() rises from one statement to the next; a ManualClock stands
        # still, so the order of the writes decides between equal times.
        self.writes += 1
        return self.writes

    async def keep(
        self, raw: bytes, *, envelope_from: str | None, recipients: Sequence[str], source: str
    ) -> Kept:
        digest, message_id = sha256(raw), message_id_of(raw)
        for row in self.rows.values():
            if row.sha256 == digest or (message_id is not None and row.message_id == message_id):
                return Kept(row.mail.mail_id, duplicate=True)
        mail = StoredMail(uuid4(), raw, envelope_from, tuple(r.lower() for r in recipients))
        now = self.clock.now()
        self.rows[mail.mail_id] = _Row(mail, digest, message_id, now, now, self._stamp())
        return Kept(mail.mail_id, duplicate=False)

    async def claim(self, limit: int) -> list[StoredMail]:
        now = self.clock.now()
        waiting = [r for r in self.rows.values() if r.outcome is None and r.not_before <= now]
        claimed = sorted(waiting, key=lambda r: (r.not_before, r.written))[:limit]
        for row in claimed:
            row.mail = replace(row.mail, attempts=row.mail.attempts + 1)
            row.not_before, row.written = now + timedelta(seconds=LEASE_SECONDS), self._stamp()
        return [row.mail for row in claimed]

    async def mails_from(self, sender: str, since: datetime) -> int:
        return sum(
            1
            for r in self.rows.values()
            if r.outcome is not None and r.sender == sender.lower() and r.received_at >= since
        )

    async def finish(self, mail: StoredMail, outcome: Outcome) -> None:
        row = self.rows.get(mail.mail_id)
        if row is not None:
            row.outcome, row.last_error = outcome, None
            row.sender = outcome.sender.lower() if outcome.sender else None

    async def retry_later(self, mail: StoredMail, error: str, delay: float) -> None:
        row = self.rows.get(mail.mail_id)
        if row is not None:
            row.not_before = self.clock.now() + timedelta(seconds=delay)
            row.written, row.last_error = self._stamp(), error
            self.retries.append((mail.mail_id, delay))


async def claimed(store: FakeStore, mail: StoredMail) -> StoredMail:
    """`mail` kept in `store` and leased, as the worker gets it (its first attempt)."""
    kept = await store.keep(
        mail.raw, envelope_from=mail.envelope_from, recipients=mail.recipients, source="smtp"
    )
    (leased,) = await store.claim(1)
    assert leased.mail_id == kept.mail_id
    return leased


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

"""What the mailgate's use cases need, as ports: the mail store, the tickets
service, a clock and the mail settings; an erasure, its scrub. `bootstrap.py`
binds the real adapters; use-case tests (`tests/unit/mailgate/fakes.py`) pass
in-memory ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from helpdesk.contracts.attachments import AttachFromMail, FilesAttached, StoredFile
from helpdesk.contracts.tickets import MessageAdded, ReplyFromMail, SubmitFromMail, Submitted
from helpdesk.servicekit.clock import Clock


@dataclass(frozen=True)
class StoredMail:
    """A mail as kept: its raw bytes and how it arrived."""

    mail_id: UUID
    raw: bytes
    envelope_from: str | None  # "" for a null sender (a bounce); None via IMAP
    recipients: tuple[str, ...]
    attempts: int = 0


@dataclass(frozen=True)
class Explanation:
    """A short mail to a sender saying why their mail created nothing (one per
    address, reason and day)."""

    to: str
    reason: str  # unknown_sender, not_participant, ticket_closed
    subject: str
    in_reply_to: str | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # done, ignored, dead
    detail: str  # created HD-…, added to HD-…, the skip reason, the dead-letter reason
    ticket_id: UUID | None = None
    explanation: Explanation | None = None
    sender: str | None = None
    message_id: UUID | None = None  # the message a reply became (its files go on it)
    # Whose the mail is, as the tickets service answered (erasure finds it by them).
    user_id: UUID | None = None  # the sender
    requester_id: UUID | None = None  # the requester of its ticket


@dataclass(frozen=True)
class Kept:
    """What the store says of a mail handed to it."""

    mail_id: UUID
    duplicate: bool  # the same bytes or Message-ID were kept before


class MailStore(Protocol):
    async def keep(
        self, raw: bytes, *, envelope_from: str | None, recipients: Sequence[str], source: str
    ) -> Kept:
        """Store the mail durably (one row per Message-ID / SHA-256) before anything else."""

    async def claim(self, limit: int) -> list[StoredMail]:
        """Mails waiting to be processed, leased to this worker for a while."""

    async def mails_from(self, sender: str, since: datetime) -> int:
        """How many processed mails this sender sent since `since`."""

    async def finish(self, mail: StoredMail, outcome: Outcome) -> None:
        """Record what the mail became (and the explanation to send), or dead-letter it."""

    async def retry_later(self, mail: StoredMail, error: str, delay: float) -> None:
        """Release the lease; the mail is tried again after `delay` seconds."""


class Tickets(Protocol):
    """The tickets service's mail requests; a refusal raises `Refused`."""

    async def submit(self, command: SubmitFromMail) -> Submitted: ...

    async def reply(self, command: ReplyFromMail) -> MessageAdded: ...

    async def attach(self, command: AttachFromMail) -> FilesAttached: ...


class Files(Protocol):
    """The kit's attachment pipeline and blob store, as the gateway's uploads use them."""

    async def store(self, name: str, data: bytes, attachment_id: UUID) -> StoredFile:
        """Check, clean, scan and store one file. Raises the kit's `FileRefused` for a
        file the helpdesk does not take; any other exception means "try again later"
        (the object store or the scanner away)."""


@dataclass(frozen=True)
class MailPolicy:
    reply_key: bytes
    support: tuple[str, ...]  # the support addresses
    own: tuple[str, ...]  # every address the helpdesk sends from or receives on
    hourly_limit: int = 30
    max_attempts: int = 12  # transient failures before a mail is dead-lettered
    backoff: tuple[float, ...] = field(default=(1.0, 5.0, 15.0, 30.0, 60.0, 300.0))


class PersonErasure(Protocol):
    """Scrubs what the mailgate keeps of an erased person (adapters/erasure.py), on
    the erasure event's connection, in its transaction."""

    async def scrub(self, person_id: UUID, erased_at: datetime) -> object: ...


@dataclass(frozen=True)
class ErasureDeps:
    erasure: PersonErasure
    clock: Clock
    # How long the other services may still open an erased person's data
    # (HELPDESK_PRIVACY_KEY_CACHE_SECONDS): the scrub waits that long.
    key_cache_seconds: float = 30.0


@dataclass(frozen=True)
class Deps:
    store: MailStore
    tickets: Tickets
    clock: Clock
    policy: MailPolicy
    files: Files

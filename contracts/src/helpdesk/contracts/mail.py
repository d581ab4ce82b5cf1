"""The mail channel's wire formats, shared by the notifier (which writes them into
the mails it sends) and the mailgate (which reads them back from the answers).

* **Reply address** `helpdesk+<token>@company`: the token names the ticket and
  carries an HMAC of it with a key from settings (`HELPDESK_MAIL_REPLY_KEY`), so
  it can be neither guessed from the ticket number nor forged for another ticket.
* **Thread reference** `<hd.<token>@company>`: put in `References` and
  `In-Reply-To` of every ticket mail, so a client that drops the `+` address
  (some rewrite Reply-To, some users pick "reply all" to the old address) still
  threads through the `References` it copies from the mail it answers.
* **Ticket number in a subject** (`HD-2026-000123`): the last and weakest hint,
  which the tickets service honours only for the requester or an agent.

Pure functions: no I/O. See docs/mail.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from helpdesk.contracts.envelope import EventData

SERVICE = "mailgate"

_ID_CHARS = 26  # base32 of the 16 bytes of a UUID, without padding
_MAC_BYTES = 10  # 80 bits: 16 base32 characters
_TOKEN = re.compile(r"[a-z2-7]{42}")
_REFERENCE = re.compile(r"<hd\.([a-z2-7]{42})@[^<>\s]+>", re.IGNORECASE)
TICKET_NUMBER = re.compile(r"\bHD-\d{4}-\d{6}\b")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _mac(key: bytes, ticket_id: UUID) -> bytes:
    return hmac.new(key, b"helpdesk-reply:" + ticket_id.bytes, hashlib.sha256).digest()[:_MAC_BYTES]


def reply_token(key: bytes, ticket_id: UUID) -> str:
    """42 lowercase base32 characters (some MTAs lowercase local parts)."""
    return _b32(ticket_id.bytes) + _b32(_mac(key, ticket_id))


def looks_like_token(value: str) -> bool:
    return bool(_TOKEN.fullmatch(value.lower()))


def ticket_of_token(key: bytes, token: str) -> UUID | None:
    """The ticket a token names, or None if it is not one we signed."""
    token = token.lower()
    if not _TOKEN.fullmatch(token):
        return None
    try:
        raw = base64.b32decode(token[:_ID_CHARS].upper() + "======")
        ticket_id = UUID(bytes=raw[:16])
    except (ValueError, base64.binascii.Error):  # type: ignore[attr-defined]
        return None
    if not hmac.compare_digest(reply_token(key, ticket_id), token):
        return None
    return ticket_id


def split_address(address: str) -> tuple[str, str, str]:
    """`helpdesk+abc@Example.org` -> (`helpdesk`, `abc`, `example.org`)."""
    local, _, domain = address.strip().rpartition("@")
    base, _, detail = local.partition("+")
    return base.lower(), detail, domain.lower()


def reply_address(support_address: str, key: bytes, ticket_id: UUID) -> str:
    base, _, domain = split_address(support_address)
    return f"{base}+{reply_token(key, ticket_id)}@{domain}"


def thread_reference(support_address: str, key: bytes, ticket_id: UUID) -> str:
    """The Message-ID-shaped thread root every mail about the ticket refers to."""
    _, _, domain = split_address(support_address)
    return f"<hd.{reply_token(key, ticket_id)}@{domain or 'helpdesk'}>"


def ticket_of_references(key: bytes, headers: Iterable[str]) -> UUID | None:
    """The first thread root we signed among `In-Reply-To` / `References` values."""
    for value in headers:
        for token in _REFERENCE.findall(value or ""):
            found = ticket_of_token(key, token)
            if found is not None:
                return found
    return None


def ticket_number_in(subject: str) -> str | None:
    match = TICKET_NUMBER.search(subject or "")
    return match.group(0) if match else None


class MailReceived(EventData):
    """A mail kept whole by the mailgate (metadata only: the body stays in its table).

    Not published on a stream yet (nothing outside the mailgate consumes it): it is
    the envelope of a mail parked as a dead letter, so `helpdesk dead-letters
    mailgate` lists it and `helpdesk redrive mailgate <id>` queues it again.
    """

    producer: ClassVar[str] = SERVICE
    aggregate: ClassVar[str] = "mail"

    mail_id: UUID
    message_id: str | None
    sender: str | None
    recipients: list[str]
    subject_line: str | None
    date: datetime | None
    sha256: str

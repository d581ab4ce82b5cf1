"""A mail a handler asks for: who, which template in which language, what it
says, and what it carries. The outbox composes and records it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any
from uuid import UUID

from helpdesk.notifier.domain.files import MailFile

# Not the composer's business: whose the mail is, recorded for an erasure.
_WHOSE = frozenset({"to_id", "about"})


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    template: str
    locale: str
    context: dict[str, Any]
    to_name: str | None = None
    headers: Mapping[str, str] | None = None  # the thread's (adapters/threading.py)
    attachments: tuple[MailFile, ...] = ()
    # Whose the mail is (adapters/erasure.py, filled by the outbox from the event):
    # the person it goes to, and everyone whose personal data it may hold.
    to_id: UUID | None = None
    about: frozenset[UUID] = frozenset()

    def parts(self) -> dict[str, Any]:
        """The composer's fields by name, as they are (`asdict` would turn the files
        into dicts)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _WHOSE}

"""A mail a handler asks for: who, which template in which language, what it
says, and what it carries. The outbox composes and records it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from helpdesk.notifier.domain.files import MailFile


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    template: str
    locale: str
    context: dict[str, Any]
    to_name: str | None = None
    headers: Mapping[str, str] | None = None  # the thread's (adapters/threading.py)
    attachments: tuple[MailFile, ...] = ()

    def parts(self) -> dict[str, Any]:
        """Its fields by name, as they are (`asdict` would turn the files into dicts)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

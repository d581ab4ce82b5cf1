"""Operator commands every service answers on `<service>.admin.<verb>` (used by the CLI)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel

from helpdesk.contracts.messages import AdminRequest


class DeadLetter(BaseModel):
    id: int
    consumer: str
    event_id: UUID
    subject: str
    error: str
    deliveries: int
    dead_at: str


class DeadLetters(BaseModel):
    items: list[DeadLetter]


class Redriven(BaseModel):
    id: int


class ProjectionsRebuilt(BaseModel):
    """Events replayed per projection."""

    events: dict[str, int]


class ListDeadLetters(AdminRequest[DeadLetters]):
    verb: ClassVar[str] = "dead_letters.list"


class RedriveDeadLetter(AdminRequest[Redriven]):
    verb: ClassVar[str] = "dead_letters.redrive"

    id: int


class RebuildProjections(AdminRequest[ProjectionsRebuilt]):
    verb: ClassVar[str] = "projections.rebuild"


class EventsResealed(BaseModel):
    """Stored events whose personal values were written in the clear, now sealed."""

    events: int
    values: int


class ResealEvents(AdminRequest[EventsResealed]):
    """`helpdesk privacy-migrate <service>`: seal the personal values of events
    stored before they were sealed (docs/privacy.md, "Migrating old events")."""

    verb: ClassVar[str] = "events.reseal"

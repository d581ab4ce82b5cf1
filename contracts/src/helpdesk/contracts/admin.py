"""Operator commands every service answers on `<service>.admin.<name>` (used by the CLI)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

LIST_DEAD_LETTERS = "dead_letters.list"
REDRIVE_DEAD_LETTER = "dead_letters.redrive"
REBUILD_PROJECTIONS = "projections.rebuild"


class NoArguments(BaseModel):
    pass


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


class RedriveDeadLetter(BaseModel):
    id: int


class Redriven(BaseModel):
    id: int


class ProjectionsRebuilt(BaseModel):
    """Events replayed per projection."""

    events: dict[str, int]

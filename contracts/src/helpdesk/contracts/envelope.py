"""The envelope every integration event travels in, and the base of event payloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts import subjects

T = TypeVar("T", bound="EventData")


class EventData(BaseModel):
    """Base of every integration event's `data`.

    Subclasses name themselves: `event_type` defaults to the class name, and
    `producer` / `aggregate` build the subject `<producer>.events.<aggregate>.<name>`.
    Bump `schema_version` whenever a field is removed or retyped.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    producer: ClassVar[str]
    aggregate: ClassVar[str]
    # The subject's name token (default: the event type in snake case), and the
    # fields whose values follow it, e.g. `("priority",)` for `….submitted.urgent`.
    verb: ClassVar[str]
    subject_tokens: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type[EventData]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__
        if "verb" not in cls.__dict__:
            cls.verb = snake_case(cls.event_type)
        # A class whose name starts with "_" is a base of events, not one itself.
        is_base = cls.__name__.startswith("_")
        if hasattr(cls, "producer") and hasattr(cls, "aggregate") and not is_base:
            EventData.registry[cls.event_type] = cls

    @classmethod
    def stream(cls) -> str:
        """The JetStream stream of the producing service."""
        return subjects.stream_name(cls.producer)

    @classmethod
    def subject_filter(cls, **tokens: str) -> str:
        """What a consumer subscribes to: `tickets.events.ticket.submitted.*`, or with
        `priority="urgent"` `….submitted.urgent`."""
        unknown = set(tokens) - set(cls.subject_tokens)
        if unknown:
            raise TypeError(f"{cls.event_type} has no subject token {sorted(unknown)}")
        parts = [f"{cls.producer}.events.{cls.aggregate}.{cls.verb}"]
        parts += [str(tokens.get(name, "*")) for name in cls.subject_tokens]
        return ".".join(parts)

    def subject(self) -> str:
        """The JetStream subject this event is published on."""
        values = {name: str(getattr(self, name)) for name in self.subject_tokens}
        return self.subject_filter(**values)


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class EventEnvelope(BaseModel):
    """What goes over the wire: metadata plus the event's data."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    schema_version: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    correlation_id: str
    causation_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        event: EventData,
        *,
        correlation_id: str,
        causation_id: str | None = None,
        event_id: UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Self:
        return cls(
            event_id=event_id or uuid4(),
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=occurred_at or datetime.now(UTC),
            producer=event.producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=event.model_dump(mode="json"),
        )

    def payload(self) -> EventData:
        """The typed event inside this envelope."""
        event_cls = EventData.registry[self.event_type]
        return event_cls.model_validate(self.data)

    def open(self, event_cls: type[T]) -> T:
        if self.event_type != event_cls.event_type:
            raise TypeError(f"expected {event_cls.event_type}, got {self.event_type}")
        return event_cls.model_validate(self.data)

"""Event handlers written like command handlers.

A service declares what it does with each event the way it declares commands:

    EVENT_HANDLERS = {TicketSubmitted: on_submitted, TicketAssigned: on_assigned}

    async def on_submitted(event: TicketSubmitted, deps: Deps) -> None: ...

and `on_events(name, EVENT_HANDLERS, deps=…)` gives the durable consumer. The
kit derives from the keys what the consumer subscribes to (the narrowest
subject filter covering every key's subject), which event types it `handles`
(the others of that filter are acknowledged without work), and opens each
envelope once, as the key's type. Everything else is the consumer's as before
(`EventConsumer`): the inbox row in the handler's transaction, dead letters,
in-progress beats, one worker in arrival order, metrics.

`deps` builds what a handler works with from the `Delivery`: the connection
its writes go through (the inbox transaction) and the envelope's metadata
(`event_id` keys a mail; `occurred_at` orders upserts).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection

DepsT = TypeVar("DepsT")
# `async def on_x(event: SomeEvent, deps: Deps) -> None`; typed loosely here
# because a table maps each event class to a handler of that class.
OnEvent = Callable[[Any, DepsT], Awaitable[None]]
EventHandlers = Mapping[type[EventData], OnEvent[DepsT]]


@dataclass(frozen=True)
class Delivery:
    """One event being handled: the connection to write with and its envelope."""

    conn: Connection
    envelope: EventEnvelope

    @property
    def event_id(self) -> UUID:
        return self.envelope.event_id

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at


def covering_filter(subjects: list[str]) -> str:
    """The narrowest NATS subject filter that covers every one of `subjects`."""
    if len(set(subjects)) == 1:
        return subjects[0]
    split = [s.split(".") for s in subjects]
    common: list[str] = []
    for tokens in zip(*split, strict=False):
        if len(set(tokens)) != 1 or tokens[0] in ("*", ">"):
            break
        common.append(tokens[0])
    if not common:
        raise ValueError(f"no common subject for {subjects}")
    return ".".join([*common, ">"])


def on_events(
    name: str,
    handlers: EventHandlers[DepsT],
    deps: Callable[[Delivery], DepsT],
    *,
    subject: str | None = None,
    **options: Any,
) -> EventConsumer:
    """The durable consumer `name` of the events `handlers` names. `subject`
    narrows or fixes the filter (the on-call pages: one priority's subjects);
    `options` are EventConsumer's (max_workers, inbox, backoff, …)."""
    if not handlers:
        raise ValueError(f"{name}: no event handlers")
    table = {cls.event_type: (cls, handler) for cls, handler in handlers.items()}

    async def handle(conn: Connection, envelope: EventEnvelope) -> None:
        # The consumer acks unhandled types before this runs; a direct call (a
        # re-drive, a test) with one does nothing, as the consumer would.
        found = table.get(envelope.event_type)
        if found is not None:
            event_cls, handler = found
            await handler(envelope.open(event_cls), deps(Delivery(conn, envelope)))

    return EventConsumer(
        name=name,
        subject=subject or covering_filter([cls.subject_filter() for cls in handlers]),
        handler=handle,
        handles=frozenset(table),
        **options,
    )

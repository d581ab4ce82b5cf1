"""Transactional outbox: integration events written with the state change,
published to JetStream by the relay (see relay.py), which then deletes them —
so a raw token in an event lives in PostgreSQL only until it is published."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.subjects import CORRELATION_HEADER
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.personal_data import sealed_envelope


@dataclass(frozen=True)
class OutgoingMessage:
    envelope: EventEnvelope
    subject: str

    @classmethod
    def of(
        cls,
        event: EventData,
        *,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> OutgoingMessage:
        envelope = EventEnvelope.wrap(
            event, correlation_id=correlation_id, causation_id=causation_id
        )
        return cls(envelope=envelope, subject=event.subject())


# The outbox rows of `outbox_rows(messages)` at parameters $n..$n+3, in order.
def outbox_insert(first_parameter: int) -> str:
    n = first_parameter
    return (
        "INSERT INTO outbox (event_id, subject, payload, headers)"
        " SELECT o.event_id, o.subject, o.payload, o.headers"
        f" FROM unnest(${n}::uuid[], ${n + 1}::text[], ${n + 2}::bytea[], ${n + 3}::jsonb[])"
        " WITH ORDINALITY AS o(event_id, subject, payload, headers, ord)"
    )


def outbox_rows(messages: Sequence[OutgoingMessage]) -> tuple[list[Any], ...]:
    return (
        [m.envelope.event_id for m in messages],
        [m.subject for m in messages],
        [m.envelope.model_dump_json().encode() for m in messages],
        [{CORRELATION_HEADER: m.envelope.correlation_id} for m in messages],
    )


_ADD = outbox_insert(1) + " ORDER BY o.ord"


async def add_to_outbox(conn: Connection, messages: Sequence[OutgoingMessage]) -> None:
    """Write messages in the caller's transaction, their personal fields sealed;
    the relay is woken on commit. (Messages of events being appended go with
    them: `EventStore.append(publish=…)`.)"""
    if not messages:
        return
    await conn.execute(_ADD, *outbox_rows(await sealed_messages(conn, messages)))


async def sealed_messages(
    conn: Connection,
    messages: Sequence[OutgoingMessage],
    same: Mapping[UUID, dict[str, Any]] | None = None,
) -> list[OutgoingMessage]:
    """`messages` with their personal fields sealed; `same`: data already sealed
    for an event of the same id and type (a stored copy of the same event)."""
    out = []
    for m in messages:
        data = (same or {}).get(m.envelope.event_id)
        if data is not None:
            envelope = m.envelope.model_copy(update={"data": data})
        else:
            envelope = await sealed_envelope(conn, m.envelope)
        out.append(m if envelope is m.envelope else replace(m, envelope=envelope))
    return out

"""Where the kit seals and opens events' personal fields (issue 30, docs/privacy.md).

Sealed on the way in — `EventStore.append` / `append_writes` (the stored
events and the outbox rows written with them) and `add_to_outbox` — in the
writer's transaction, with the keystore on the same connection. Opened on the
way out — `EventStore.load` / `replay`, and the consumers' delivery and
re-drive — so domain code, projections and handlers only ever see plain
values, or a field's `erased` value once its person was erased.

Which fields are personal is the contracts' business (`privacy.Personal`);
an event type without personal fields costs nothing here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.keystore import ring_for
from helpdesk.servicekit.privacy import (
    open_event,
    personal_fields,
    personal_sites,
    seal_event,
    sealed_key_id,
    sealed_keys,
)

if TYPE_CHECKING:
    from helpdesk.servicekit.eventstore import NewEvent, RecordedEvent

# An event type's model: the contract events' registry, or a service's own
# domain events (identity stores those, not the contract's).
Models = Mapping[str, type]


def _model(models: Models, event_type: str) -> type | None:
    model = models.get(event_type)
    return model if model is not None and personal_fields(model) else None


async def seal_data(
    conn: Connection,
    models: Models,
    event_type: str,
    data: dict[str, Any],
    event_id: UUID,
    default_owner: UUID | None = None,
) -> dict[str, Any]:
    model = _model(models, event_type)
    if model is None:
        return data
    return await seal_event(model, data, event_id, ring_for(conn), default_owner=default_owner)


async def open_data(
    conn: Connection, models: Models, event_type: str, data: dict[str, Any], event_id: UUID
) -> dict[str, Any]:
    model = _model(models, event_type)
    if model is None or not sealed_keys(model, data):
        return data
    return await open_event(model, data, event_id, ring_for(conn))


async def sealed_envelope(conn: Connection, envelope: EventEnvelope) -> EventEnvelope:
    data = await seal_data(
        conn, EventData.registry, envelope.event_type, envelope.data, envelope.event_id
    )
    return envelope if data is envelope.data else envelope.model_copy(update={"data": data})


async def opened_envelope(conn: Connection, envelope: EventEnvelope) -> EventEnvelope:
    data = await open_data(
        conn, EventData.registry, envelope.event_type, envelope.data, envelope.event_id
    )
    return envelope if data is envelope.data else envelope.model_copy(update={"data": data})


E = TypeVar("E", "NewEvent", "RecordedEvent")


async def sealed(
    conn: Connection, models: Models, events: Sequence[E], default_owner: UUID | None = None
) -> list[E]:
    """Copies of `events` with their data sealed (`default_owner`: seal_event's).
    The owners' keys are taken first, all of them in one order: two writers making
    keys for the same new people lock the keystore's rows alike (no deadlock)."""
    owners: set[UUID] = set()
    for e in events if len(events) > 1 else ():  # one event: seal_event orders its own
        model = _model(models, e.event_type)
        if model is not None:
            owners |= {
                owner
                for site in personal_sites(model, e.data)
                if (owner := site.owner or default_owner) is not None
            }
    if len(owners) > 1:
        ring = ring_for(conn)
        for owner in sorted(owners):
            await ring.key_for(owner)
    out = []
    for e in events:
        data = await seal_data(conn, models, e.event_type, e.data, e.event_id, default_owner)
        out.append(e if data is e.data else dataclasses.replace(e, data=data))
    return out


async def opened(conn: Connection, models: Models, events: Sequence[E]) -> list[E]:
    """Copies of `events` with their data opened."""
    out = []
    for e in events:
        data = await open_data(conn, models, e.event_type, e.data, e.event_id)
        out.append(e if data is e.data else dataclasses.replace(e, data=data))
    return out


# A service's completion of stored events written before a schema named their
# owner (the tickets' `requester_id`): given a stream's events, oldest first, as
# (event type, data), it fills in place what the sealing needs.
Completion = Callable[[list[tuple[str, dict[str, Any]]]], None]


async def reseal_stream(
    conn: Connection,
    models: Models,
    stream_id: str,
    *,
    default_owner: UUID | None = None,
    complete: Completion | None = None,
) -> tuple[int, int]:
    """Seal the personal values a stream's stored events hold in the clear (what
    was stored before they were sealed); returns (events, values) changed. Values
    already sealed stay as they are, so running it again changes nothing."""
    rows = await conn.fetch(
        "SELECT event_id, event_type, data FROM events WHERE stream_id = $1 ORDER BY version",
        stream_id,
    )
    datas: list[dict[str, Any]] = [dict(r["data"]) for r in rows]  # the pool decodes jsonb
    if complete is not None:
        complete([(r["event_type"], data) for r, data in zip(rows, datas, strict=True)])
    events = values = 0
    for row, data in zip(rows, datas, strict=True):
        model = _model(models, row["event_type"])
        if model is None:
            continue
        plain = sum(
            1
            for site in personal_sites(model, data)
            if site.container[site.name] is not None
            and sealed_key_id(site.container[site.name]) is None
        )
        if not plain:
            continue
        sealed_data = await seal_event(
            model,
            data,
            row["event_id"],
            ring_for(conn),
            plain_only=True,
            default_owner=default_owner,
        )
        version = getattr(model, "schema_version", None)
        await conn.execute(
            "UPDATE events SET data = $2, schema_version = coalesce($3::int, schema_version)"
            " WHERE event_id = $1",
            row["event_id"],
            sealed_data,
            version,
        )
        events += 1
        values += plain
    return events, values

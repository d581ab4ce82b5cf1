"""Append-only event streams in PostgreSQL with optimistic concurrency.

`append` takes the version the caller last saw; if the stream moved on, it
raises `ConcurrencyError` and writes nothing. Appending events whose ids are
already stored is a no-op (an idempotent retry). The messages the append
`publish`es go to the outbox in the same statement, only when every event was
appended: one round trip for the event store and the outbox. `replay` reads
the whole store in position order for a projection rebuild, inside the
transaction that holds the projection's tables locked.

There is deliberately no "events after position N" reader: a position is
taken at insert, not at commit, so such a reader skips a transaction that
took a lower position and commits later. Live consumers get events from
JetStream, fed by the outbox relay, which is built to never skip one
(see relay.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from helpdesk.contracts.envelope import EventData
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.outbox import OutgoingMessage, outbox_insert, outbox_rows, sealed_messages
from helpdesk.servicekit.personal_data import Completion, Models, opened, reseal_stream, sealed
from helpdesk.servicekit.statements import Write


class ConcurrencyError(Exception):
    """The stream is not at the expected version: reload and retry the command."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id!r} is not at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    data: dict[str, Any]
    event_id: UUID = field(default_factory=uuid4)
    schema_version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    stream_id: str
    version: int
    event_id: UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


_COLUMNS = (
    "position, stream_id, version, event_id, event_type, schema_version, data, metadata, "
    "recorded_at"
)

# One round trip: the version check and the insert are a single statement;
# the (stream_id, version) key turns the race between two writers into fewer
# rows returned, which `append` reports as a ConcurrencyError.
_APPEND = f"""
INSERT INTO events (stream_id, version, event_id, event_type, schema_version, data, metadata)
SELECT $1, $2::int + e.ord, e.event_id, e.event_type, e.schema_version, e.data, e.metadata
FROM unnest($3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
     WITH ORDINALITY AS e(event_id, event_type, schema_version, data, metadata, ord)
WHERE (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1) = $2
ON CONFLICT DO NOTHING
RETURNING {_COLUMNS}
"""

# The append, and its messages into the outbox if every event went in (a
# partial append raises ConcurrencyError and rolls back anyway; a retried one
# appends nothing, and its messages went out with the first).
_APPEND_AND_PUBLISH = f"""
WITH appended AS ({_APPEND}),
published AS ({outbox_insert(8)}
    WHERE (SELECT count(*) FROM appended) = cardinality($3::uuid[])
    ORDER BY o.ord)
SELECT {_COLUMNS} FROM appended
"""


# The append as writes of a larger statement (`EventStore.append_writes`): no
# ON CONFLICT and no silent version check, so that a failed append fails the
# whole statement. A stream that moved on makes the version NULL (a NOT NULL
# violation); a writer racing this one trips the (stream_id, version) key.
_APPEND_STRICT = """
INSERT INTO events (stream_id, version, event_id, event_type, schema_version, data, metadata)
SELECT $1,
       CASE WHEN (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1) = $2
            THEN $2::int + e.ord END,
       e.event_id, e.event_type, e.schema_version, e.data, e.metadata
FROM unnest($3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
     WITH ORDINALITY AS e(event_id, event_type, schema_version, data, metadata, ord)
"""

_PUBLISH = outbox_insert(1) + " ORDER BY o.ord"


def _append_args(
    stream_id: str, expected_version: int, events: Sequence[NewEvent]
) -> tuple[Any, ...]:
    """$1..$7 of `_APPEND` and `_APPEND_STRICT`."""
    return (
        stream_id,
        expected_version,
        [e.event_id for e in events],
        [e.event_type for e in events],
        [e.schema_version for e in events],
        [e.data for e in events],
        [e.metadata for e in events],
    )


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(**dict(row.items()))


def _with_plain(
    recorded: list[RecordedEvent], plain: dict[UUID, dict[str, Any]]
) -> list[RecordedEvent]:
    """The recorded events as the caller gave them (not sealed), for projections."""
    return [replace(r, data=plain[r.event_id]) for r in recorded]


class EventStore:
    """The event store of one service (its connections' search_path names the schema).

    Personal fields are sealed on append and opened on load and replay
    (personal_data.py): `models` names each stored event type's model, by
    default the contract events' (what the tickets service stores); identity
    stores its own domain events and passes those, with `owner_of_stream`: whose
    personal values are in a stream whose events do not name them (`user-<id>`)."""

    def __init__(
        self,
        models: Models | None = None,
        owner_of_stream: Callable[[str], UUID | None] | None = None,
        complete_stream: Completion | None = None,
    ) -> None:
        self.models: Models = models if models is not None else EventData.registry
        self.owner_of_stream = owner_of_stream
        # For `reseal`: fills in what events stored before their owner was named lack.
        self.complete_stream = complete_stream

    async def reseal(self, pool: asyncpg.Pool) -> tuple[int, int]:
        """Seal the personal values stored in the clear before sealing began, one
        stream per transaction; returns (events, values) sealed. Idempotent."""
        events = values = 0
        async with pool.acquire() as conn:
            streams = [
                r["stream_id"] for r in await conn.fetch("SELECT DISTINCT stream_id FROM events")
            ]
            for stream_id in streams:
                async with conn.transaction():
                    changed = await reseal_stream(
                        conn,
                        self.models,
                        stream_id,
                        default_owner=self.owner_of_stream(stream_id)
                        if self.owner_of_stream
                        else None,
                        complete=self.complete_stream,
                    )
                events, values = events + changed[0], values + changed[1]
        return events, values

    async def _sealed(
        self,
        conn: Connection,
        stream_id: str,
        events: Sequence[NewEvent],
        publish: Sequence[OutgoingMessage],
    ) -> tuple[list[NewEvent], list[OutgoingMessage]]:
        owner = self.owner_of_stream(stream_id) if self.owner_of_stream else None
        stored = await sealed(conn, self.models, events, owner)
        same = {e.event_id: e.data for e in stored if self.models is EventData.registry}
        return stored, await sealed_messages(conn, publish, same)

    async def append(
        self,
        conn: Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        publish: Sequence[OutgoingMessage] = (),
    ) -> list[RecordedEvent]:
        """Append inside the caller's transaction; returns the recorded events.
        `publish`: messages for the outbox, written with the events."""
        if not events:
            return []
        plain = {e.event_id: e.data for e in events}
        stored, publish = await self._sealed(conn, stream_id, events, publish)
        args = _append_args(stream_id, expected_version, stored)
        if publish:
            rows = await conn.fetch(_APPEND_AND_PUBLISH, *args, *outbox_rows(publish))
        else:
            rows = await conn.fetch(_APPEND, *args)
        if len(rows) == len(events):
            return _with_plain([_recorded(r) for r in rows], plain)
        already = await conn.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE event_id = any($1::uuid[]) ORDER BY position",
            [e.event_id for e in events],
        )
        if not rows and len(already) == len(events):
            # The same append, retried.
            return _with_plain([_recorded(r) for r in already], plain)
        # Partly written rows (if any) are undone with the caller's transaction.
        raise ConcurrencyError(stream_id, expected_version)

    async def append_writes(
        self,
        conn: Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        publish: Sequence[OutgoingMessage] = (),
        now: datetime,
    ) -> tuple[list[Write], list[RecordedEvent]]:
        """The append (and its outbox rows) as writes for one statement with others
        (`statements.merged`), and the events as they will be recorded, for the
        projections' writes of the same statement. If the stream is not at
        `expected_version`, or another writer gets there first, the statement
        fails as a whole: `conflict` tells that failure apart.

        Of the recorded events only `position` (0 here) and `recorded_at` (`now`
        here; the statement's own clock in the table) are not the stored ones:
        no projection's `write` reads them, which the rebuild tests check (a
        rebuilt model equals the live one).
        """
        stored, publish = await self._sealed(conn, stream_id, events, publish)
        writes = [Write(_APPEND_STRICT, _append_args(stream_id, expected_version, stored))]
        if publish:
            writes.append(Write(_PUBLISH, outbox_rows(publish)))
        recorded = [
            RecordedEvent(
                position=0,
                stream_id=stream_id,
                version=expected_version + i,
                event_id=e.event_id,
                event_type=e.event_type,
                schema_version=e.schema_version,
                data=e.data,
                metadata=e.metadata,
                recorded_at=now,
            )
            for i, e in enumerate(events, start=1)
        ]
        return writes, recorded

    @staticmethod
    def conflict(exc: BaseException) -> bool:
        """Whether a statement with `append_writes` failed because the stream moved on
        (or the same events and their outbox rows were written before: see `stored`)."""
        return isinstance(exc, asyncpg.IntegrityConstraintViolationError) and getattr(
            exc, "table_name", None
        ) in ("events", "outbox")

    @staticmethod
    async def stored(conn: Connection, events: Sequence[NewEvent]) -> bool:
        """Whether all these events are in the store already (an append retried)."""
        found = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_id = any($1::uuid[])",
            [e.event_id for e in events],
        )
        return bool(events) and found == len(events)

    async def load(self, conn: Connection, stream_id: str) -> list[RecordedEvent]:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version", stream_id
        )
        return await opened(conn, self.models, [_recorded(r) for r in rows])

    async def replay(
        self, conn: Connection, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        """Every stored event in position order, fetched in batches.

        For rebuilding a projection: run it in the transaction that locks the
        projection's tables, so every command that would update them waits and
        applies its own event on top of the rebuilt state.
        """
        position = 0
        while True:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
                position,
                batch_size,
            )
            for event in await opened(conn, self.models, [_recorded(r) for r in rows]):
                yield event
            if len(rows) < batch_size:
                return
            position = rows[-1]["position"]

"""Read models fed by the event store, rebuildable from zero.

A projection's `apply` runs in the command's own transaction for live
updates, and again over the whole store in `rebuild`: the same code both
times, so the rebuilt model equals the live one.

A projection whose change to an event is one data-modifying statement can say
so with `write` (a `Write`): `apply_all` then runs the writes of all such
projections for an event as one statement (each write a CTE: they touch
different tables, so this is the same as running them in turn) and saves the
round trips. `apply` stays the one way to apply an event alone (rebuilds).

A projection whose rebuild must be fast (the tickets list, a million events)
can also `fold`: the rebuild then keeps its rows in memory (`Rows`), folds
every event into them, and writes each final row once with COPY instead of
running one statement per event. `fold` and `apply` must derive from one
description of the change (see the tickets projection), and an integration
test must compare a rebuilt model with the live one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import asyncpg

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, RecordedEvent
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.statements import Write, merged

log = get_logger(__name__)


class Projection(Protocol):
    name: str
    tables: Sequence[str]

    async def apply(self, conn: Connection, event: RecordedEvent) -> None: ...


class Rows:
    """A projection's tables in memory during a rebuild: rows by primary key,
    changed with the semantics of the SQL statements named below, written once."""

    def __init__(self, columns: Mapping[str, Sequence[str]]) -> None:
        self._columns = columns
        self._tables: dict[str, dict[Hashable, dict[str, Any]]] = {t: {} for t in columns}

    def get(self, table: str, key: Hashable) -> dict[str, Any] | None:
        return self._tables[table].get(key)

    def insert(self, table: str, key: Hashable, row: dict[str, Any]) -> None:
        """INSERT … ON CONFLICT (key) DO NOTHING."""
        self._tables[table].setdefault(key, row)

    def update(self, table: str, key: Hashable, values: Mapping[str, Any]) -> None:
        """UPDATE … SET values WHERE key (nothing when the row is absent)."""
        row = self._tables[table].get(key)
        if row is not None:
            row.update(values)

    def upsert(
        self, table: str, key: Hashable, values: Mapping[str, Any], inserted: Mapping[str, Any]
    ) -> None:
        """INSERT (inserted + values) … ON CONFLICT (key) DO UPDATE SET values."""
        row = self._tables[table].get(key)
        if row is None:
            self._tables[table][key] = {**inserted, **values}
        else:
            row.update(values)

    def delete(self, table: str, key: Hashable) -> None:
        self._tables[table].pop(key, None)

    async def write(self, conn: Connection) -> None:
        for table, columns in self._columns.items():
            rows = self._tables[table].values()
            await conn.copy_records_to_table(
                table, records=[tuple(row[c] for c in columns) for row in rows], columns=columns
            )


@runtime_checkable
class FoldingProjection(Projection, Protocol):
    # Every column of every table, each row's values written in this order.
    columns: Mapping[str, Sequence[str]]

    def fold(self, rows: Rows, event: RecordedEvent) -> None: ...


def _check_apart(projections: Sequence[Projection]) -> None:
    tables = [t for p in projections for t in p.tables]
    assert len(set(tables)) == len(tables), f"projections share a table: {tables}"


class WritingProjection(Projection, Protocol):
    """A projection that can state an event's change as one statement (the
    contract `apply_all` looks for, by attribute: see there)."""

    def write(self, event: RecordedEvent) -> Write | None:
        """The event's change as one statement, or None when `apply` must run
        (nothing to change, or a change that reads first)."""
        ...


def writes_of(
    projections: Sequence[Projection], events: Sequence[RecordedEvent]
) -> list[Write] | None:
    """Every projection's change for these events as writes for one statement, or
    None if some change needs its projection's `apply`, or if one projection would
    write twice (two statements of one `WITH` must not touch the same row). A
    projection that names the event types it `handles` (a frozenset attribute)
    is skipped for the others; one that does not must write every event."""
    writes: list[Write] = []
    written: set[int] = set()
    for event in events:
        for projection in projections:
            handles: frozenset[str] | None = getattr(projection, "handles", None)
            if handles is not None and event.event_type not in handles:
                continue
            writing: Callable[[RecordedEvent], Write | None] | None = getattr(
                projection, "write", None
            )
            write = writing(event) if writing is not None else None
            if write is None or id(projection) in written:
                return None
            written.add(id(projection))
            writes.append(write)
    if writes:
        _check_apart(projections)
    return writes


async def apply_all(
    conn: Connection, projections: Sequence[Projection], events: Sequence[RecordedEvent]
) -> None:
    """Each event into every projection: the single-statement writes of an event
    in one round trip, then the projections that need their own `apply`."""
    for event in events:
        writes: list[Write] = []
        others: list[Projection] = []
        for projection in projections:
            # getattr, not isinstance: a runtime-checkable protocol costs ~25 µs a check.
            writing: Callable[[RecordedEvent], Write | None] | None = getattr(
                projection, "write", None
            )
            write = writing(event) if writing is not None else None
            if write is None:
                others.append(projection)
            else:
                writes.append(write)
        if len(writes) > 1:
            _check_apart(projections)
            await merged(writes).run(conn)
        elif writes:
            await writes[0].run(conn)
        for projection in others:
            await projection.apply(conn, event)


async def rebuild(
    pool: asyncpg.Pool,
    projection: Projection,
    batch_size: int = 5000,
    store: EventStore | None = None,
) -> int:
    """Empty the projection's tables and replay every stored event into them.

    The tables are locked for the duration, so commands that update them wait
    and then apply their own event on top of the rebuilt state. A folding
    projection is replayed in memory and its rows written once at the end.
    """
    replayed = 0
    store = store or EventStore()  # the service's own: it knows its events' models
    async with pool.acquire() as conn, conn.transaction():
        tables = ", ".join(projection.tables)
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        await conn.execute(f"TRUNCATE {tables}")
        if isinstance(projection, FoldingProjection):
            rows = Rows(projection.columns)
            async for event in store.replay(conn, batch_size):
                projection.fold(rows, event)
                replayed += 1
            await rows.write(conn)
        else:
            async for event in store.replay(conn, batch_size):
                await projection.apply(conn, event)
                replayed += 1
    log.info("projection rebuilt", projection=projection.name, events=replayed)
    return replayed


# A projection's change for one event type: the rows it writes, on the connection
# of the transaction that stored (or replays) the event.
RowChange = Callable[[Connection, RecordedEvent], Awaitable[None]]


class ByEventType:
    """A projection's `apply` from a table `{EventClass: change}`, the same shape as
    a consumer's EVENT_HANDLERS: the stored type is the class's `event_type`
    (contract events) or its name (a service's private events). Its `handles`
    are the table's types, so a projection built on it is skipped for the others
    (`writes_of`)."""

    def __init__(self, table: Mapping[type, RowChange]) -> None:
        self.changes = {
            getattr(cls, "event_type", cls.__name__): change for cls, change in table.items()
        }
        self.handles = frozenset(self.changes)

    async def __call__(self, conn: Connection, event: RecordedEvent) -> None:
        change = self.changes.get(event.event_type)
        if change is not None:
            await change(conn, event)

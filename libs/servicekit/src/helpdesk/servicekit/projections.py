"""Read models fed by the event store, rebuildable from zero.

A projection's `apply` runs in the command's own transaction for live
updates, and again over the whole store in `rebuild`: the same code both
times, so the rebuilt model equals the live one.

A projection whose rebuild must be fast (the tickets list, a million events)
can also `fold`: the rebuild then keeps its rows in memory (`Rows`), folds
every event into them, and writes each final row once with COPY instead of
running one statement per event. `fold` and `apply` must derive from one
description of the change (see the tickets projection), and an integration
test must compare a rebuilt model with the live one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import asyncpg

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, RecordedEvent
from helpdesk.servicekit.logging import get_logger

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


async def apply_all(
    conn: Connection, projections: Sequence[Projection], events: Sequence[RecordedEvent]
) -> None:
    for event in events:
        for projection in projections:
            await projection.apply(conn, event)


async def rebuild(pool: asyncpg.Pool, projection: Projection, batch_size: int = 5000) -> int:
    """Empty the projection's tables and replay every stored event into them.

    The tables are locked for the duration, so commands that update them wait
    and then apply their own event on top of the rebuilt state. A folding
    projection is replayed in memory and its rows written once at the end.
    """
    replayed = 0
    async with pool.acquire() as conn, conn.transaction():
        tables = ", ".join(projection.tables)
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        await conn.execute(f"TRUNCATE {tables}")
        if isinstance(projection, FoldingProjection):
            rows = Rows(projection.columns)
            async for event in EventStore().replay(conn, batch_size):
                projection.fold(rows, event)
                replayed += 1
            await rows.write(conn)
        else:
            async for event in EventStore().replay(conn, batch_size):
                await projection.apply(conn, event)
                replayed += 1
    log.info("projection rebuilt", projection=projection.name, events=replayed)
    return replayed

"""Read models fed by the event store, rebuildable from zero.

A projection's `apply` runs in the command's own transaction for live
updates, and again over the whole store in `rebuild`: the same code both
times, so the rebuilt model equals the live one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import asyncpg

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, RecordedEvent
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


class Projection(Protocol):
    name: str
    tables: Sequence[str]

    async def apply(self, conn: Connection, event: RecordedEvent) -> None: ...


async def apply_all(
    conn: Connection, projections: Sequence[Projection], events: Sequence[RecordedEvent]
) -> None:
    for event in events:
        for projection in projections:
            await projection.apply(conn, event)


class _Statements:
    """Stands in for the connection while a rebuild applies a batch of events:
    records the statements instead of running them one round trip each."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.recorded.append((sql, args))
        return ""


async def _run_batched(conn: Connection, recorded: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Run a batch's statements with one `executemany` per statement text and round.

    Only for projections whose statements each touch the rows of one key, their
    first argument: statements of different keys commute, those of one key keep
    their order (round r runs every key's r-th statement).
    """
    by_key: dict[Any, list[tuple[str, tuple[Any, ...]]]] = {}
    for sql, args in recorded:
        by_key.setdefault(args[0], []).append((sql, args))
    rounds = max((len(statements) for statements in by_key.values()), default=0)
    for r in range(rounds):
        same_text: dict[str, list[tuple[Any, ...]]] = {}
        for statements in by_key.values():
            if r < len(statements):
                sql, args = statements[r]
                same_text.setdefault(sql, []).append(args)
        for sql, rows in same_text.items():
            await conn.executemany(sql, rows)


async def rebuild(pool: asyncpg.Pool, projection: Projection, batch_size: int = 5000) -> int:
    """Empty the projection's tables and replay every stored event into them.

    The tables are locked for the duration, so commands that update them wait
    and then apply their own event on top of the rebuilt state. A projection
    that sets `statements_keyed_by_first_argument = True` (every statement it
    runs touches only the rows of its first argument, and it only `execute`s)
    is replayed in batches: the same `apply`, its statements grouped into
    `executemany` calls instead of a round trip each.
    """
    replayed = 0
    batched = getattr(projection, "statements_keyed_by_first_argument", False)
    async with pool.acquire() as conn, conn.transaction():
        tables = ", ".join(projection.tables)
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        await conn.execute(f"TRUNCATE {tables}")
        statements = _Statements()
        target = cast(Connection, statements) if batched else conn
        async for event in EventStore().replay(conn, batch_size):
            await projection.apply(target, event)
            replayed += 1
            if batched and replayed % batch_size == 0:
                await _run_batched(conn, statements.recorded)
                statements.recorded.clear()
        await _run_batched(conn, statements.recorded)
    log.info("projection rebuilt", projection=projection.name, events=replayed)
    return replayed

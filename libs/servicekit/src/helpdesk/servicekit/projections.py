"""Read models fed by the event store, rebuildable from zero.

A projection's `apply` runs in the command's own transaction for live
updates, and again over the whole store in `rebuild`: the same code both
times, so the rebuilt model equals the live one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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


async def rebuild(pool: asyncpg.Pool, projection: Projection, batch_size: int = 1000) -> int:
    """Empty the projection's tables and replay every stored event into them.

    The tables are locked for the duration, so commands that update them wait
    and then apply their own event on top of the rebuilt state.
    """
    replayed = 0
    async with pool.acquire() as conn, conn.transaction():
        tables = ", ".join(projection.tables)
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        await conn.execute(f"TRUNCATE {tables}")
        async for event in EventStore().replay(conn, batch_size):
            await projection.apply(conn, event)
            replayed += 1
    log.info("projection rebuilt", projection=projection.name, events=replayed)
    return replayed

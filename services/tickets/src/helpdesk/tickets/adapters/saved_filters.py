"""The `SavedFilterStore` port in PostgreSQL: agents' named views of the queue."""

from __future__ import annotations

from uuid import UUID

from helpdesk.contracts.agents import FilterSpec, SavedFilter
from helpdesk.servicekit.db import Connection


class PostgresSavedFilters:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def of(self, user_id: UUID) -> list[SavedFilter]:
        rows = await self.conn.fetch(
            "SELECT name, spec FROM saved_filters WHERE user_id = $1 ORDER BY name", user_id
        )
        return [
            SavedFilter(name=row["name"], spec=FilterSpec.model_validate(row["spec"]))
            for row in rows
        ]

    async def save(self, user_id: UUID, saved: SavedFilter, *, limit: int) -> bool:
        # One statement: the count and the write see the same rows (a replacement
        # of an existing name is always allowed).
        done = await self.conn.fetchval(
            "INSERT INTO saved_filters (user_id, name, spec) SELECT $1, $2, $3"
            " WHERE (SELECT count(*) FROM saved_filters WHERE user_id = $1 AND name <> $2) < $4"
            " ON CONFLICT (user_id, name) DO UPDATE SET spec = excluded.spec, saved_at = now()"
            " RETURNING true",
            user_id,
            saved.name,
            saved.spec.model_dump(mode="json"),
            limit,
        )
        return bool(done)

    async def delete(self, user_id: UUID, name: str) -> None:
        await self.conn.execute(
            "DELETE FROM saved_filters WHERE user_id = $1 AND name = $2", user_id, name
        )

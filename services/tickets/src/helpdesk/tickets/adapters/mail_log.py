"""What each mail became (`mail_intake`): the mail channel's exactly-once.

The row is written in the transaction that creates the ticket or message, so
a redelivered mail finds what the first delivery made of it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel

from helpdesk.servicekit.db import Connection


class PostgresMailLog:
    """The `MailLog` port on the unit of work's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def result_of(self, mail_id: str) -> dict[str, Any] | None:
        found = await self.conn.fetchval(
            "SELECT result FROM mail_intake WHERE mail_id = $1", mail_id
        )
        return found if isinstance(found, dict) else None

    async def record(self, mail_id: str, ticket_id: UUID, result: BaseModel) -> None:
        await self.conn.execute(
            "INSERT INTO mail_intake (mail_id, ticket_id, result) VALUES ($1, $2, $3)",
            mail_id,
            ticket_id,
            result.model_dump(mode="json"),
        )

"""`Idempotency-Key`: (user, key) -> the first answer, kept 24 hours.

The row is inserted in the same transaction as the ticket or message it
answers for, so "created" and "remembered" commit together: a client that
timed out and retries gets the ticket the first attempt created, never a
second one. A concurrent request with the same key waits on the row's unique
index until the first commits (then replays its answer) or rolls back (then
goes ahead itself).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from helpdesk.servicekit.db import Connection
from helpdesk.tickets.handlers.deps import IdempotencyKeyReused

KEPT = "24 hours"


async def first_answer(
    conn: Connection, user_id: UUID, key: str, fingerprint: str
) -> dict[str, Any] | None:
    # Expired answers leave a few at a time with the requests that come in.
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys"
        f" WHERE created_at < now() - interval '{KEPT}' LIMIT 20))"
    )
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2"
        f" AND created_at < now() - interval '{KEPT}'",
        user_id,
        key,
    )
    claimed = await conn.fetchval(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true",
        user_id,
        key,
        fingerprint,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT fingerprint, answer FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        user_id,
        key,
    )
    if row is None:  # expired and removed by another request meanwhile: ours now
        return await first_answer(conn, user_id, key, fingerprint)
    if row["fingerprint"] != fingerprint or row["answer"] is None:
        raise IdempotencyKeyReused()
    answer: dict[str, Any] | str = row["answer"]
    # Rows written before 2026-12 hold the answer as a JSON string (encoded twice).
    return json.loads(answer) if isinstance(answer, str) else answer


async def remember_answer(
    conn: Connection, user_id: UUID, key: str, answer: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET answer = $3 WHERE user_id = $1 AND key = $2",
        user_id,
        key,
        answer,  # the pool's jsonb codec encodes it: an object the erasure can query
    )


class PostgresAnswers:
    """The `Answers` port on the unit of work's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def first(self, user_id: UUID, key: str, fingerprint: str) -> dict[str, Any] | None:
        return await first_answer(self.conn, user_id, key, fingerprint)

    async def remember(self, user_id: UUID, key: str, answer: dict[str, Any]) -> None:
        await remember_answer(self.conn, user_id, key, answer)

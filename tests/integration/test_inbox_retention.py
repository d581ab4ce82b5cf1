"""Inbox rows older than the retention are deleted; newer ones stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from helpdesk.servicekit.retention import INBOX_RETENTION, prune_inbox

pytestmark = pytest.mark.integration


async def test_prune_deletes_only_rows_past_the_retention(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    _, pool = schema_pool
    old = INBOX_RETENTION + timedelta(hours=1)
    recent = INBOX_RETENTION - timedelta(hours=1)
    await pool.execute(
        "INSERT INTO inbox (consumer, event_id, handled_at)"
        " SELECT 'c', gen_random_uuid(), now() - $1::interval FROM generate_series(1, 25)",
        old,
    )
    kept = [uuid.uuid4() for _ in range(3)]
    await pool.execute(
        "INSERT INTO inbox (consumer, event_id, handled_at)"
        " SELECT 'c', id, now() - $2::interval FROM unnest($1::uuid[]) AS id",
        kept,
        recent,
    )
    assert await prune_inbox(pool, batch=10) == 25  # over several batches
    assert sorted(await pool.fetchval("SELECT array_agg(event_id) FROM inbox")) == sorted(kept)
    assert await prune_inbox(pool) == 0

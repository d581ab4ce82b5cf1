"""Inbox retention: each handled event leaves one `inbox` row (consumer.py), which
only has to outlive the chances of that event arriving again.

A JetStream redelivery of an unacknowledged message comes within minutes
(`ack_wait` 60 s, a few back-off steps); a relay re-publishing after a crash
is dropped by the stream's duplicate window, and reaches consumers again only
if the relay was down for longer — hours at worst. Rows are therefore kept
for `INBOX_RETENTION` (7 days) and deleted after, in small batches, hourly, by
every replica (the deletes of two replicas do not conflict). Without this the
inbox grows by a row per handled event, forever (docs/performance.md).
Replaying a stream to a consumer from the start (docs/tickets.md, "Users")
still means deleting that consumer's inbox rows first, as before.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import every, repeat

log = get_logger(__name__)

INBOX_RETENTION = timedelta(days=7)

_PRUNE = """
DELETE FROM inbox WHERE (consumer, event_id) IN (
    SELECT consumer, event_id FROM inbox WHERE handled_at < now() - $1::interval LIMIT $2
)
"""


async def prune_inbox(
    pool: asyncpg.Pool, older_than: timedelta = INBOX_RETENTION, batch: int = 5000
) -> int:
    """Delete inbox rows handled more than `older_than` ago; returns how many."""
    pruned = 0
    while True:
        status = await pool.execute(_PRUNE, older_than, batch)
        deleted = int(status.split()[-1])
        pruned += deleted
        if deleted < batch:
            return pruned
        await asyncio.sleep(0)  # let the service's own work in between batches


async def keep_inbox_pruned(pool: asyncpg.Pool, interval: float = 3600.0) -> None:
    async def prune() -> None:
        if pruned := await prune_inbox(pool):
            log.info("inbox pruned", rows=pruned, retention_days=INBOX_RETENTION.days)

    await repeat(prune, pause=every(interval), failed="inbox not pruned")

"""The outbox relay: publishes committed outbox rows to JetStream, in order.

* Only one relay per service publishes: it holds a PostgreSQL advisory lock on
  a dedicated connection; other replicas wait for the lock (and take over if
  the holder dies, because the lock dies with its connection).
* Rows are read in position order, and only below the oldest open
  transaction (`pg_snapshot_xmin`), so a transaction that took an earlier
  position but commits later is never overtaken or skipped.
* `Nats-Msg-Id` = event_id: a re-publish after a crash is dropped by the
  server's duplicate window. Rows are deleted only after JetStream
  acknowledged them (raw tokens included: nothing published stays).
* Woken by LISTEN/NOTIFY (a trigger on outbox inserts), with polling as the
  fallback for a lost notification. Rounds start at most every
  `min_round_seconds`: under load the commits of those milliseconds go out
  as one batch (one read, one delete) instead of a round each; an event
  that follows a quiet moment is read at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram

from helpdesk.contracts.subjects import MSG_ID_HEADER
from helpdesk.servicekit.db import Connection, close_within, init_connection
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import every, repeat
from helpdesk.servicekit.waits import woken

log = get_logger(__name__)

PUBLISHED = Counter("outbox_published_total", "Outbox events published to JetStream", ["schema"])
LAG = Histogram(
    "outbox_publish_lag_seconds",
    "Time from an outbox row's creation to its JetStream acknowledgement",
    ["schema"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

OLDEST_PENDING = Gauge(
    "outbox_oldest_pending_seconds",
    "Age of the oldest outbox row not yet published (0 when the outbox is empty)",
    ["schema"],
)


async def watch_outbox(pool: asyncpg.Pool, schema: str, interval: float = 5.0) -> None:
    """Report the outbox backlog from every replica, independently of the relay,
    so a relay that stalls without failing shows as a growing age."""
    while True:
        try:
            await measure_outbox(pool, schema)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox backlog not measured", schema=schema, error=repr(exc))
        await asyncio.sleep(interval)


async def measure_outbox(pool: asyncpg.Pool, schema: str) -> float:
    age = await pool.fetchval(
        "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox"
    )
    OLDEST_PENDING.labels(schema).set(float(age))
    return float(age)


_PENDING = """
SELECT position, event_id, subject, payload, headers,
       extract(epoch FROM created_at) AS created
FROM outbox
WHERE txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY position
LIMIT $1
"""


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        schema: str,
        js: JetStreamContext,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        ack_timeout: float = 5.0,
        min_round_seconds: float = 0.005,
    ) -> None:
        self._dsn = dsn
        self._schema = schema
        self._js = js
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._ack_timeout = ack_timeout
        self._min_round = min_round_seconds
        self._wake = asyncio.Event()
        self.is_leader = False

    async def run(self) -> None:
        """Publish forever; reconnect after database errors."""
        await repeat(
            self._run_once,
            pause=every(self._poll_interval),
            failed="outbox relay failed; restarting",
            schema=self._schema,
        )

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self._dsn, server_settings={"search_path": self._schema})
        await init_connection(conn)
        return conn

    async def _run_once(self) -> None:
        conn = await self._connect()
        try:
            while not await conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", f"relay:{self._schema}"
            ):
                await asyncio.sleep(self._poll_interval)
            self.is_leader = True
            log.info("outbox relay is the active publisher", schema=self._schema)
            await conn.add_listener(f"{self._schema}_outbox", self._notified)
            while True:
                started = time.monotonic()
                published = await self.publish_pending(conn)
                if published >= self._batch_size:
                    continue
                self._wake.clear()
                await woken(self._wake, self._poll_interval)
                # Woken soon after the last round: more commits are likely on their way.
                if (since := time.monotonic() - started) < self._min_round:
                    await asyncio.sleep(self._min_round - since)
        finally:
            self.is_leader = False
            await close_within(conn)

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def publish_pending(self, conn: Connection) -> int:
        """Publish one batch of committed rows; returns how many were published."""
        rows = await conn.fetch(_PENDING, self._batch_size)
        if not rows:
            return 0
        # publish_async sends in call order on one connection, so JetStream
        # stores the batch in position order; then all acks are awaited.
        futures = [
            await self._js.publish_async(
                row["subject"],
                row["payload"],
                headers={**row["headers"], MSG_ID_HEADER: str(row["event_id"])},
            )
            for row in rows
        ]
        try:
            # An ack lost with a failed NATS node never arrives: give up on the
            # batch, and publish it again (the server drops what it already has).
            async with asyncio.timeout(self._ack_timeout):
                await asyncio.gather(*futures)
        except BaseException:
            for future in futures:
                future.cancel()  # also frees nats-py's pending-publish slots
            raise
        # Published rows leave the outbox (the event store keeps the history),
        # so raw activation and reset tokens never outlive their publication.
        await conn.execute(
            "DELETE FROM outbox WHERE position = any($1::bigint[])", [r["position"] for r in rows]
        )
        now = time.time()
        for row in rows:
            LAG.labels(self._schema).observe(max(0.0, now - float(row["created"])))
        PUBLISHED.labels(self._schema).inc(len(rows))
        return len(rows)

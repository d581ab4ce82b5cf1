"""Sliding-window rate limits kept in PostgreSQL, so they survive a restart
and hold across replicas. Time is the database's (`now()`), one clock for
every replica."""

from __future__ import annotations

import math
from datetime import timedelta

from helpdesk.identity.handlers.deps import Limit
from helpdesk.servicekit.db import Connection


class PostgresRateLimits:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def retry_after(self, limit: Limit, key: str) -> int | None:
        count = await self._conn.fetchval(
            "SELECT count(*) FROM rate_limit_hits WHERE bucket = $1 AND key = $2"
            " AND at > now() - $3::interval",
            limit.bucket,
            key,
            limit.window,
        )
        if count < limit.limit:
            return None
        # The hit whose expiry brings the count under the limit.
        seconds = await self._conn.fetchval(
            "SELECT extract(epoch FROM at + $3::interval - now()) FROM rate_limit_hits"
            " WHERE bucket = $1 AND key = $2 AND at > now() - $3::interval"
            " ORDER BY at OFFSET $4 LIMIT 1",
            limit.bucket,
            key,
            limit.window,
            count - limit.limit,
        )
        return max(1, math.ceil(float(seconds or 1)))

    async def hit(self, limit: Limit, key: str) -> None:
        """Count one attempt (and forget this key's attempts older than the window)."""
        await self._conn.execute(
            "DELETE FROM rate_limit_hits"
            " WHERE bucket = $1 AND key = $2 AND at <= now() - $3::interval",
            limit.bucket,
            key,
            limit.window,
        )
        await self._conn.execute(
            "INSERT INTO rate_limit_hits (bucket, key) VALUES ($1, $2)", limit.bucket, key
        )

    async def serialise(self, limit: Limit, key: str) -> None:
        """An advisory lock held until the transaction ends."""
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"{limit.bucket}:{key}"
        )

    async def take(self, limit: Limit, key: str) -> int | None:
        """Serialised per key, so concurrent attempts cannot overshoot the limit."""
        await self.serialise(limit, key)
        wait = await self.retry_after(limit, key)
        if wait is None:
            await self.hit(limit, key)
        return wait

    async def clear(self, limit: Limit, key: str) -> None:
        await self._conn.execute(
            "DELETE FROM rate_limit_hits WHERE bucket = $1 AND key = $2", limit.bucket, key
        )

    async def clear_prefix(self, limit: Limit, prefix: str) -> None:
        await self._conn.execute(
            "DELETE FROM rate_limit_hits WHERE bucket = $1 AND starts_with(key, $2)",
            limit.bucket,
            prefix,
        )

    async def forgive(self, limit: Limit, key: str) -> None:
        await self._conn.execute(
            "DELETE FROM rate_limit_hits WHERE ctid = (SELECT ctid FROM rate_limit_hits"
            " WHERE bucket = $1 AND key = $2 ORDER BY at DESC LIMIT 1)",
            limit.bucket,
            key,
        )

    async def delay(self, limit: Limit, key: str, max_seconds: int) -> int | None:
        row = await self._conn.fetchrow(
            "SELECT count(*) AS n, max(at) AS newest FROM rate_limit_hits"
            " WHERE bucket = $1 AND key = $2 AND at > now() - $3::interval",
            limit.bucket,
            key,
            limit.window,
        )
        if row is None or row["n"] < limit.limit:
            return None
        wait = growing_delay(row["n"] - limit.limit, max_seconds)
        seconds = await self._conn.fetchval(
            "SELECT extract(epoch FROM $1::timestamptz + $2::interval - now())",
            row["newest"],
            timedelta(seconds=wait),
        )
        return math.ceil(float(seconds)) if seconds > 0 else None


def growing_delay(beyond: int, max_seconds: int) -> int:
    """1 s for the first attempt past the threshold, then 2, 4, 8 ... up to the cap."""
    return int(min(2 ** min(beyond, 30), max_seconds))

"""Sliding-window rate limits kept in PostgreSQL, so they survive a restart
and hold across replicas."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from helpdesk.servicekit.db import Connection


@dataclass(frozen=True)
class Limit:
    bucket: str  # what is limited, e.g. "login-account"
    limit: int
    window: timedelta


async def retry_after(conn: Connection, limit: Limit, key: str) -> int | None:
    """Seconds until one more attempt is allowed, or None if it is allowed now."""
    count = await conn.fetchval(
        "SELECT count(*) FROM rate_limit_hits WHERE bucket = $1 AND key = $2"
        " AND at > now() - $3::interval",
        limit.bucket,
        key,
        limit.window,
    )
    if count < limit.limit:
        return None
    # The hit whose expiry brings the count under the limit.
    seconds = await conn.fetchval(
        "SELECT extract(epoch FROM at + $3::interval - now()) FROM rate_limit_hits"
        " WHERE bucket = $1 AND key = $2 AND at > now() - $3::interval"
        " ORDER BY at OFFSET $4 LIMIT 1",
        limit.bucket,
        key,
        limit.window,
        count - limit.limit,
    )
    return max(1, math.ceil(float(seconds or 1)))


async def hit(conn: Connection, limit: Limit, key: str) -> None:
    """Count one attempt (and forget this key's attempts older than the window)."""
    await conn.execute(
        "DELETE FROM rate_limit_hits WHERE bucket = $1 AND key = $2 AND at <= now() - $3::interval",
        limit.bucket,
        key,
        limit.window,
    )
    await conn.execute(
        "INSERT INTO rate_limit_hits (bucket, key) VALUES ($1, $2)", limit.bucket, key
    )


async def take(conn: Connection, limit: Limit, key: str) -> int | None:
    """Count an attempt unless the limit is reached; returns the wait if it is.

    Serialised per key (an advisory lock for the transaction), so concurrent
    attempts cannot overshoot the limit. Run it in its own transaction.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{limit.bucket}:{key}")
    wait = await retry_after(conn, limit, key)
    if wait is None:
        await hit(conn, limit, key)
    return wait


async def clear(conn: Connection, limit: Limit, key: str) -> None:
    await conn.execute(
        "DELETE FROM rate_limit_hits WHERE bucket = $1 AND key = $2", limit.bucket, key
    )

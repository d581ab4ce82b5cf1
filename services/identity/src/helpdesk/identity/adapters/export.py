"""The export's reads of identity's own tables (docs/privacy.md, "Export"): an
account's recorded changes, its sessions and its failed sign-ins.

Only kinds and times are read from the events (their types and `recorded_at`,
a session event's dates and end reason): never a hash, a sealed secret or a key.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from helpdesk.contracts.export import AccountEvent, ExportedSession, FailedSignIn
from helpdesk.identity.domain.user import user_stream

# Enough for anyone's sign-ins since the rate limits forget within their window;
# a flood of attempts from many addresses is cut to the newest.
FAILED_SIGN_INS_MAX = 1000

_HISTORY = "SELECT event_type, recorded_at FROM events WHERE stream_id = $1 ORDER BY version"

# A page of the account's sessions in the order they started (the position of each
# session stream's first event), with every event of those sessions (streams named
# as domain/session.session_stream names them).
_SESSIONS = """
WITH page AS (
    SELECT s.session_id, e.position
    FROM sessions s
    JOIN events e ON e.stream_id = 'session-' || s.session_id::text AND e.version = 1
    WHERE s.user_id = $1 AND e.position > $2
    ORDER BY e.position
    LIMIT $3
)
SELECT p.position, p.session_id, e.event_type, e.data, e.recorded_at
FROM page p
JOIN events e ON e.stream_id = 'session-' || p.session_id::text
ORDER BY p.position, e.version
"""

_FAILED = """
SELECT at, substr(key, length($2) + 1) AS address FROM rate_limit_hits
WHERE bucket = $1 AND left(key, length($2)) = $2
ORDER BY at DESC LIMIT $3
"""

# A username cannot hold a control character: U+001F ends it in a login-pair key
# (handlers/sessions.pair_key).
_PAIR_SEPARATOR = "\x1f"


def _snake(event_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event_type).lower()


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class PostgresAccountRecords:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def history(self, user_id: UUID) -> list[AccountEvent]:
        rows = await self._pool.fetch(_HISTORY, user_stream(user_id))
        return [AccountEvent(at=r["recorded_at"], kind=_snake(r["event_type"])) for r in rows]

    async def sessions(
        self, user_id: UUID, after: int, limit: int
    ) -> tuple[list[ExportedSession], int | None]:
        rows = await self._pool.fetch(_SESSIONS, user_id, after, limit)
        found: dict[UUID, ExportedSession] = {}
        last = after
        for row in rows:
            last = row["position"]
            data: dict[str, Any] = row["data"]
            kind = row["event_type"]
            if kind == "SessionStarted":
                found[row["session_id"]] = ExportedSession(
                    started_at=_when(data.get("at")) or row["recorded_at"],
                    expires_at=_when(data.get("expires_at")),
                )
                continue
            session = found.get(row["session_id"])
            if session is None:
                continue
            if kind == "SessionRefreshed":
                session.last_renewed_at = _when(data.get("at"))
                session.expires_at = _when(data.get("expires_at"))
            elif kind == "SessionRevoked":
                session.ended_at = _when(data.get("at"))
                session.end_reason = data.get("reason")
        page_ids = {row["session_id"] for row in rows}
        more = len(page_ids) == limit
        return list(found.values()), last if more else None

    async def failed_sign_ins(self, bucket: str, username_key: str) -> list[FailedSignIn]:
        prefix = username_key + _PAIR_SEPARATOR
        rows = await self._pool.fetch(_FAILED, bucket, prefix, FAILED_SIGN_INS_MAX)
        return [FailedSignIn(at=r["at"], client_address=r["address"]) for r in rows]

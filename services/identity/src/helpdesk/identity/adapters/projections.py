"""Read models kept in the command's own transaction and rebuildable from the store."""

from __future__ import annotations

from collections.abc import Sequence

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.servicekit.projections import Projection


class UserDirectory:
    """Accounts by username and e-mail (unique ignoring case), plus their token hashes."""

    name = "identity-users"
    tables: Sequence[str] = ("users", "user_tokens")

    async def apply(self, conn: Connection, event: RecordedEvent) -> None:
        if not event.stream_id.startswith("user-"):
            return
        user_id = event.stream_id.removeprefix("user-")
        data = event.data
        match event.event_type:
            case "Registered":
                await conn.execute(
                    "INSERT INTO users (user_id, username, username_key, email, email_key, name,"
                    " locale, roles, status, registered_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending_activation', $9)",
                    user_id,
                    data["username"],
                    data["username_key"],
                    data["email"],
                    data["email_key"],
                    data["name"],
                    data["locale"],
                    data["roles"],
                    event.recorded_at,
                )
            case "Activated":
                await conn.execute("UPDATE users SET status = 'active' WHERE user_id = $1", user_id)
            case "RegistrationCancelled":
                # The username and the address are free again; the mailed token is void.
                await conn.execute("DELETE FROM users WHERE user_id = $1", user_id)
                await conn.execute("DELETE FROM user_tokens WHERE user_id = $1", user_id)
            case "RolesGranted":
                await conn.execute(
                    "UPDATE users SET roles = $2 WHERE user_id = $1", user_id, data["roles"]
                )
            case "Deactivated":
                await conn.execute(
                    "UPDATE users SET status = 'deactivated' WHERE user_id = $1", user_id
                )
            case "Reactivated":
                await conn.execute("UPDATE users SET status = 'active' WHERE user_id = $1", user_id)
            case "ActivationTokenIssued" | "PasswordResetRequested":
                purpose = "activation" if event.event_type == "ActivationTokenIssued" else "reset"
                await conn.execute(
                    "INSERT INTO user_tokens (token_hash, purpose, user_id) VALUES ($1, $2, $3)"
                    " ON CONFLICT DO NOTHING",
                    data["token_hash"],
                    purpose,
                    user_id,
                )


class SessionIndex:
    """Sessions per user (to revoke them all) and every refresh-token hash ever issued."""

    name = "identity-sessions"
    tables: Sequence[str] = ("sessions", "refresh_tokens")

    async def apply(self, conn: Connection, event: RecordedEvent) -> None:
        if not event.stream_id.startswith("session-"):
            return
        session_id = event.stream_id.removeprefix("session-")
        data = event.data
        match event.event_type:
            case "SessionStarted":
                await conn.execute(
                    "INSERT INTO sessions (session_id, user_id, active) VALUES ($1, $2, true)",
                    session_id,
                    data["user_id"],
                )
                await self._add_token(conn, data["refresh_token_hash"], session_id)
            case "SessionRefreshed":
                await self._add_token(conn, data["refresh_token_hash"], session_id)
            case "SessionRevoked":
                await conn.execute(
                    "UPDATE sessions SET active = false WHERE session_id = $1", session_id
                )

    @staticmethod
    async def _add_token(conn: Connection, token_hash: str, session_id: str) -> None:
        await conn.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
            token_hash,
            session_id,
        )


PROJECTIONS: tuple[Projection, ...] = (UserDirectory(), SessionIndex())

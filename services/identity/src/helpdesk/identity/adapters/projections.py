"""Read models kept in the command's own transaction and rebuildable from the store.

Each is a table of its events' row changes (`ByEventType`), the same shape as the
services' event handlers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from helpdesk.identity.domain import session, user
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.servicekit.projections import ByEventType, Projection


def _user_id(event: RecordedEvent) -> str:
    return event.stream_id.removeprefix("user-")


async def _copy_to_account(conn: Connection, event: RecordedEvent, *fields: str) -> None:
    """Set the account's columns `fields` to the event's values of the same names."""
    assignments = ", ".join(f"{field} = ${n}" for n, field in enumerate(fields, start=2))
    await conn.execute(
        f"UPDATE users SET {assignments} WHERE user_id = $1",
        _user_id(event),
        *(event.data[field] for field in fields),
    )


def _unique_key(event: RecordedEvent, name: str) -> str:
    """A uniqueness key as stored; an erased person's (empty) stays unique to them."""
    return event.data[name] or f"erased:{_user_id(event)}"


async def _registered(conn: Connection, event: RecordedEvent) -> None:
    data = event.data
    await conn.execute(
        "INSERT INTO users (user_id, username, username_key, email, email_key, name,"
        " locale, roles, status, registered_at, source, external_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending_activation', $9, $10, $11)",
        _user_id(event),
        data["username"],
        _unique_key(event, "username_key"),
        data["email"],
        _unique_key(event, "email_key"),
        data["name"],
        data["locale"],
        data["roles"],
        event.recorded_at,
        data.get("source", "local"),
        data.get("external_id"),
    )


async def _active(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute("UPDATE users SET status = 'active' WHERE user_id = $1", _user_id(event))


async def _deactivated(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute(
        "UPDATE users SET status = 'deactivated' WHERE user_id = $1", _user_id(event)
    )


async def _cancelled(conn: Connection, event: RecordedEvent) -> None:
    # The username and the address are free again; the mailed token is void.
    await conn.execute("DELETE FROM users WHERE user_id = $1", _user_id(event))
    await conn.execute("DELETE FROM user_tokens WHERE user_id = $1", _user_id(event))


async def _roles(conn: Connection, event: RecordedEvent) -> None:
    await _copy_to_account(conn, event, "roles")


async def _token(conn: Connection, event: RecordedEvent, purpose: str) -> None:
    await conn.execute(
        "INSERT INTO user_tokens (token_hash, purpose, user_id) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        event.data["token_hash"],
        purpose,
        _user_id(event),
    )


async def _activation_token(conn: Connection, event: RecordedEvent) -> None:
    await _token(conn, event, "activation")


async def _reset_token(conn: Connection, event: RecordedEvent) -> None:
    await _token(conn, event, "reset")


async def _with_factor(conn: Connection, event: RecordedEvent, factor: str) -> None:
    # Removed first: a factor added again is still listed once.
    await conn.execute(
        "UPDATE users SET factors = array_append(array_remove(factors, $2), $2) WHERE user_id = $1",
        _user_id(event),
        factor,
    )


async def _without_factor(conn: Connection, event: RecordedEvent, factor: str) -> None:
    await conn.execute(
        "UPDATE users SET factors = array_remove(factors, $2) WHERE user_id = $1",
        _user_id(event),
        factor,
    )


async def _totp_enrolled(conn: Connection, event: RecordedEvent) -> None:
    await _with_factor(conn, event, "totp")


async def _totp_removed(conn: Connection, event: RecordedEvent) -> None:
    await _without_factor(conn, event, "totp")


async def _linked(conn: Connection, event: RecordedEvent) -> None:
    await _copy_to_account(conn, event, "source", "external_id")


async def _profile(conn: Connection, event: RecordedEvent) -> None:
    await _copy_to_account(conn, event, "name", "email")
    await conn.execute(
        "UPDATE users SET email_key = $2 WHERE user_id = $1",
        _user_id(event),
        _unique_key(event, "email_key"),
    )


async def _passkey_added(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute(
        "INSERT INTO passkeys (credential_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.data["credential_id"],
        _user_id(event),
    )
    await _with_factor(conn, event, "passkey")


async def _passkeys_removed(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute("DELETE FROM passkeys WHERE user_id = $1", _user_id(event))
    await _without_factor(conn, event, "passkey")


async def _erasure_requested(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute(
        "INSERT INTO erasure_requests (user_id, requested_at, note) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id) DO UPDATE SET requested_at = excluded.requested_at,"
        " note = excluded.note",
        _user_id(event),
        event.recorded_at,
        event.data.get("note"),
    )


async def _erased(conn: Connection, event: RecordedEvent) -> None:
    """Nothing of the person stays: what a replay of their (now unreadable) events
    writes, and no tokens, passkeys or pending request."""
    user_id = _user_id(event)
    await conn.execute(
        "UPDATE users SET name = '', username = '', email = '', username_key = $2,"
        " email_key = $2, status = 'erased', factors = '{}', external_id = NULL"
        " WHERE user_id = $1",
        user_id,
        f"erased:{user_id}",
    )
    for table in ("user_tokens", "passkeys", "erasure_requests"):
        await conn.execute(f"DELETE FROM {table} WHERE user_id = $1", user_id)


class _OfStreams:
    """A projection of the streams named `stream_prefix`…, by their events' types."""

    stream_prefix: ClassVar[str]
    changes: ClassVar[ByEventType]

    async def apply(self, conn: Connection, event: RecordedEvent) -> None:
        if event.stream_id.startswith(self.stream_prefix):
            await self.changes(conn, event)


class UserDirectory(_OfStreams):
    """Accounts by username and e-mail (unique ignoring case), plus their token hashes."""

    name = "identity-users"
    stream_prefix = "user-"
    tables: Sequence[str] = ("users", "user_tokens", "passkeys", "erasure_requests")
    changes = ByEventType(
        {
            user.Registered: _registered,
            user.Activated: _active,
            user.RegistrationCancelled: _cancelled,
            user.RolesGranted: _roles,
            user.Deactivated: _deactivated,
            user.Reactivated: _active,
            user.ActivationTokenIssued: _activation_token,
            user.PasswordResetRequested: _reset_token,
            user.TotpEnrolled: _totp_enrolled,
            user.TotpRemoved: _totp_removed,
            user.ExternalIdentityLinked: _linked,
            user.ProfileSynced: _profile,
            user.PasskeyAdded: _passkey_added,
            user.PasskeysRemoved: _passkeys_removed,
            user.ErasureRequested: _erasure_requested,
            user.Erased: _erased,
        }
    )


def _session_id(event: RecordedEvent) -> str:
    return event.stream_id.removeprefix("session-")


async def _add_token(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
        event.data["refresh_token_hash"],
        _session_id(event),
    )


async def _session_started(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute(
        "INSERT INTO sessions (session_id, user_id, active) VALUES ($1, $2, true)",
        _session_id(event),
        event.data["user_id"],
    )
    await _add_token(conn, event)


async def _session_revoked(conn: Connection, event: RecordedEvent) -> None:
    await conn.execute(
        "UPDATE sessions SET active = false WHERE session_id = $1", _session_id(event)
    )


class SessionIndex(_OfStreams):
    """Sessions per user (to revoke them all) and every refresh-token hash ever issued."""

    name = "identity-sessions"
    stream_prefix = "session-"
    tables: Sequence[str] = ("sessions", "refresh_tokens")
    changes = ByEventType(
        {
            session.SessionStarted: _session_started,
            session.SessionRefreshed: _add_token,
            session.SessionRevoked: _session_revoked,
        }
    )


PROJECTIONS: tuple[Projection, ...] = (UserDirectory(), SessionIndex())

"""Identity's unit of work on PostgreSQL: one pooled connection, one open
transaction, and the repositories that read and write through it.

Saving an aggregate appends its private events to the event store (optimistic
concurrency), updates the read models and queues the integration events in
the outbox — all in the unit's transaction, so they commit together or not
at all. This is the only module that writes identity's tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Self
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction
from pydantic import BaseModel

from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.people import UserSummary
from helpdesk.contracts.privacy import ErasureRequest
from helpdesk.contracts.text import fold
from helpdesk.identity.adapters.projections import PROJECTIONS
from helpdesk.identity.adapters.published import integration_events
from helpdesk.identity.adapters.ratelimits import PostgresRateLimits
from helpdesk.identity.domain.errors import EmailTaken, UsernameTaken
from helpdesk.identity.domain.session import Session, SessionEvent, session_event, session_stream
from helpdesk.identity.domain.user import (
    Erased,
    Source,
    User,
    UserEvent,
    stream_owner,
    user_event,
    user_stream,
)
from helpdesk.identity.handlers.deps import TokenPurpose
from helpdesk.servicekit import keystore
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent
from helpdesk.servicekit.outbox import OutgoingMessage, add_to_outbox
from helpdesk.servicekit.projections import apply_all
from helpdesk.servicekit.runtime import current_correlation_id

# Identity stores its own events (not the contract's): their names, usernames and
# addresses are sealed under the owner's key, found from the stream `user-<id>`.
STORE = EventStore(models={**UserEvent.types, **SessionEvent.types}, owner_of_stream=stream_owner)


async def _append(
    conn: Connection,
    stream_id: str,
    expected_version: int,
    events: Sequence[BaseModel],
) -> None:
    recorded = await STORE.append(
        conn,
        stream_id,
        expected_version,
        [NewEvent(event_type=type(e).__name__, data=e.model_dump(mode="json")) for e in events],
    )
    await apply_all(conn, PROJECTIONS, recorded)


class PostgresUsers:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def get(self, user_id: UUID) -> User:
        stored = await STORE.load(self._conn, user_stream(user_id))
        return User.fold(user_id, [user_event(e.event_type, e.data) for e in stored])

    async def save(
        self, user: User, events: Sequence[UserEvent], *, sealed_token: str | None = None
    ) -> None:
        if not events:
            return
        try:
            # A savepoint: a taken key must not abort the unit's transaction.
            async with self._conn.transaction():
                await _append(self._conn, user_stream(user.user_id), user.version, events)
        except asyncpg.UniqueViolationError as exc:
            # A concurrent registration committed the same key first.
            if exc.constraint_name == "users_username_key":
                raise UsernameTaken() from None
            if exc.constraint_name == "users_email_key":
                raise EmailTaken() from None
            raise
        for event in events:
            user.apply(event)
        destroyed: list[UUID] = []
        if any(isinstance(event, Erased) for event in events):
            # The key goes in the erasure's own transaction: committed together or not at all.
            # (Someone who never had a key gets a destroyed row: one id to name.)
            store = keystore.owned()
            await store.destroy(self._conn, user.user_id)
            destroyed = await store.key_ids_of(self._conn, user.user_id)
        correlation_id = current_correlation_id()
        await add_to_outbox(
            self._conn,
            [
                OutgoingMessage.of(public, correlation_id=correlation_id)
                for public in integration_events(user, events, sealed_token, destroyed)
            ],
        )

    async def unactivated_before(self, cutoff: datetime) -> list[UUID]:
        rows = await self._conn.fetch(
            "SELECT user_id FROM users WHERE status = 'pending_activation'"
            " AND registered_at < $1 ORDER BY registered_at",
            cutoff,
        )
        return [row["user_id"] for row in rows]

    async def publish(self, event: EventData) -> None:
        message = OutgoingMessage.of(event, correlation_id=current_correlation_id())
        await add_to_outbox(self._conn, [message])

    async def erasure_requests(self) -> list[ErasureRequest]:
        rows = await self._conn.fetch(
            "SELECT r.user_id, u.name, u.username, u.email, r.requested_at, r.note"
            " FROM erasure_requests r JOIN users u USING (user_id)"
            " ORDER BY r.requested_at, r.user_id"
        )
        return [ErasureRequest(**dict(row.items())) for row in rows]

    async def id_by_username(self, username_key: str) -> UUID | None:
        return await self._id("SELECT user_id FROM users WHERE username_key = $1", username_key)

    async def id_by_email(self, email_key: str) -> UUID | None:
        return await self._id("SELECT user_id FROM users WHERE email_key = $1", email_key)

    async def id_by_token(self, token_hash: str, purpose: TokenPurpose) -> UUID | None:
        return await self._id(
            "SELECT user_id FROM user_tokens WHERE token_hash = $1 AND purpose = $2",
            token_hash,
            purpose,
        )

    async def id_by_external(self, source: Source, external_id: str) -> UUID | None:
        return await self._id(
            "SELECT user_id FROM users WHERE source = $1 AND external_id = $2", source, external_id
        )

    async def of_source(self, source: Source) -> dict[str, UUID]:
        rows = await self._conn.fetch(
            "SELECT external_id, user_id FROM users WHERE source = $1 AND external_id IS NOT NULL",
            source,
        )
        return {row["external_id"]: row["user_id"] for row in rows}

    async def id_by_passkey(self, credential_id: str) -> UUID | None:
        return await self._id(
            "SELECT user_id FROM passkeys WHERE credential_id = $1", credential_id
        )

    async def search(self, prefix: str | None, limit: int) -> list[UserSummary]:
        """Users whose username, name or e-mail starts with `prefix`, by username;
        without case or accents ("μαρια" finds "Μαρία")."""
        pattern = fold(prefix or "").replace("\\", "\\\\").replace("%", "\\%")
        pattern = pattern.replace("_", "\\_") + "%"
        rows = await self._conn.fetch(
            "SELECT user_id, name, username, email, roles, status, factors, source FROM users"
            " WHERE username_key LIKE $1 OR email_key LIKE $1"
            f" OR translate(lower(name), {_ACCENTED!r}, {_BARE!r}) LIKE $1"
            " ORDER BY username_key LIMIT $2",
            pattern,
            limit,
        )
        return [UserSummary(**dict(row.items())) for row in rows]

    async def _id(self, query: str, *args: str) -> UUID | None:
        result: UUID | None = await self._conn.fetchval(query, *args)
        return result


# A name as `fold` leaves it, in SQL: the accented letters of Greek and of the
# Latin-script languages our users write, each with its bare letter.
_ACCENTED = "άέήίόύώϊϋΐΰςàáâãäåçèéêëìíîïñòóôõöùúûüýÿ"
_BARE = "αεηιουωιυιυσaaaaaaceeeeiiiinooooouuuuyy"


class PostgresSessions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def get(self, session_id: UUID) -> Session:
        stored = await STORE.load(self._conn, session_stream(session_id))
        return Session.fold(session_id, [session_event(e.event_type, e.data) for e in stored])

    async def save(self, session: Session, events: Sequence[SessionEvent]) -> None:
        await _append(self._conn, session_stream(session.session_id), session.version, events)
        for event in events:
            session.apply(event)

    async def id_by_refresh_token(self, token_hash: str) -> UUID | None:
        result: UUID | None = await self._conn.fetchval(
            "SELECT session_id FROM refresh_tokens WHERE token_hash = $1", token_hash
        )
        return result

    async def active_of(self, user_id: UUID) -> list[UUID]:
        rows = await self._conn.fetch(
            "SELECT session_id FROM sessions WHERE user_id = $1 AND active", user_id
        )
        return [r["session_id"] for r in rows]


class PostgresUnitOfWork:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._transaction: Transaction | None = None

    async def __aenter__(self) -> Self:
        self._conn: PoolConnectionProxy[asyncpg.Record] = await self._pool.acquire()
        try:
            self._transaction = await self._begin()
        except BaseException:
            await self._pool.release(self._conn)
            raise
        self.users = PostgresUsers(self._conn)
        self.sessions = PostgresSessions(self._conn)
        self.limits = PostgresRateLimits(self._conn)
        return self

    async def _begin(self) -> Transaction:
        transaction = self._conn.transaction()
        await transaction.start()
        return transaction

    async def commit(self) -> None:
        assert self._transaction is not None, "commit outside `async with`"
        # A failed COMMIT ends the transaction too: nothing is left to roll back.
        transaction, self._transaction = self._transaction, None
        await transaction.commit()
        self._transaction = await self._begin()

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if self._transaction is not None:
                await self._transaction.rollback()  # whatever was not committed
        finally:
            self._transaction = None
            await self._pool.release(self._conn)

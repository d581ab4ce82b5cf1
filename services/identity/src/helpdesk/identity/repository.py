"""Loading aggregates and recording their events, with projections and outbox
in the same transaction (the only place identity writes to PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from pydantic import BaseModel

from helpdesk.identity.domain.session import Session, session_event, session_stream
from helpdesk.identity.domain.user import User, user_event, user_stream
from helpdesk.identity.projections import PROJECTIONS
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent
from helpdesk.servicekit.outbox import OutgoingMessage, add_to_outbox
from helpdesk.servicekit.projections import apply_all


class Accounts:
    def __init__(self, store: EventStore | None = None) -> None:
        self.store = store or EventStore()

    async def user(self, conn: Connection, user_id: UUID) -> User:
        stored = await self.store.load(conn, user_stream(user_id))
        return User.fold(user_id, [user_event(e.event_type, e.data) for e in stored])

    async def session(self, conn: Connection, session_id: UUID) -> Session:
        stored = await self.store.load(conn, session_stream(session_id))
        return Session.fold(session_id, [session_event(e.event_type, e.data) for e in stored])

    async def record(
        self,
        conn: Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[BaseModel],
        outgoing: Sequence[OutgoingMessage] = (),
    ) -> None:
        """Append, update the read models and queue the integration events: one transaction."""
        async with conn.transaction():
            recorded = await self.store.append(
                conn,
                stream_id,
                expected_version,
                [
                    NewEvent(event_type=type(e).__name__, data=e.model_dump(mode="json"))
                    for e in events
                ],
            )
            await apply_all(conn, PROJECTIONS, recorded)
            await add_to_outbox(conn, outgoing)

    # ---- lookups in the read models

    async def user_id_by_username(self, conn: Connection, key: str) -> UUID | None:
        result: UUID | None = await conn.fetchval(
            "SELECT user_id FROM users WHERE username_key = $1", key
        )
        return result

    async def user_id_by_email(self, conn: Connection, key: str) -> UUID | None:
        result: UUID | None = await conn.fetchval(
            "SELECT user_id FROM users WHERE email_key = $1", key
        )
        return result

    async def token_owner(self, conn: Connection, token_hash: str, purpose: str) -> UUID | None:
        result: UUID | None = await conn.fetchval(
            "SELECT user_id FROM user_tokens WHERE token_hash = $1 AND purpose = $2",
            token_hash,
            purpose,
        )
        return result

    async def session_of_refresh_token(self, conn: Connection, token_hash: str) -> UUID | None:
        result: UUID | None = await conn.fetchval(
            "SELECT session_id FROM refresh_tokens WHERE token_hash = $1", token_hash
        )
        return result

    async def active_sessions(self, conn: Connection, user_id: UUID) -> list[UUID]:
        rows = await conn.fetch(
            "SELECT session_id FROM sessions WHERE user_id = $1 AND active", user_id
        )
        return [r["session_id"] for r in rows]

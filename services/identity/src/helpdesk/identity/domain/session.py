"""The `Session` aggregate: one login, its rotating refresh token, its end.

Stream `session-<id>`. Each refresh replaces the current refresh-token hash;
presenting an earlier one (a stolen, already rotated token) revokes the
session, so both the thief and the owner must log in again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from helpdesk.identity.domain.errors import RefreshTokenReused, SessionEnded

RevokeReason = Literal["logout", "refresh_token_reuse", "password_changed", "deactivated"]


class SessionEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    types: ClassVar[dict[str, type[SessionEvent]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        SessionEvent.types[cls.__name__] = cls


class SessionStarted(SessionEvent):
    session_id: UUID
    user_id: UUID
    refresh_token_hash: str
    expires_at: datetime
    at: datetime
    # The user's credentials version at login: a later password change voids it.
    credentials_version: int = 0


class SessionRefreshed(SessionEvent):
    refresh_token_hash: str
    expires_at: datetime
    at: datetime
    previous_hash: str | None = None  # the token this refresh replaced


class SessionRevoked(SessionEvent):
    reason: RevokeReason
    at: datetime


@dataclass
class Session:
    session_id: UUID
    version: int = 0
    user_id: UUID | None = None
    refresh_token_hash: str | None = None
    expires_at: datetime | None = None
    revoked: bool = False
    credentials_version: int = 0
    previous_refresh_hash: str | None = None
    rotated_at: datetime | None = None

    @classmethod
    def fold(cls, session_id: UUID, events: list[SessionEvent]) -> Session:
        session = cls(session_id=session_id)
        for event in events:
            session.apply(event)
        return session

    def apply(self, event: SessionEvent) -> None:
        self.version += 1
        match event:
            case SessionStarted():
                self.user_id = event.user_id
                self.refresh_token_hash = event.refresh_token_hash
                self.expires_at = event.expires_at
                self.credentials_version = event.credentials_version
            case SessionRefreshed():
                self.previous_refresh_hash = event.previous_hash
                self.rotated_at = event.at
                self.refresh_token_hash = event.refresh_token_hash
                self.expires_at = event.expires_at
            case SessionRevoked():
                self.revoked = True

    @staticmethod
    def start(
        *,
        session_id: UUID,
        user_id: UUID,
        refresh_token_hash: str,
        expires_at: datetime,
        now: datetime,
        credentials_version: int = 0,
    ) -> list[SessionEvent]:
        return [
            SessionStarted(
                session_id=session_id,
                user_id=user_id,
                refresh_token_hash=refresh_token_hash,
                expires_at=expires_at,
                at=now,
                credentials_version=credentials_version,
            )
        ]

    def rotate(
        self,
        presented_hash: str,
        new_hash: str,
        expires_at: datetime,
        now: datetime,
        grace: timedelta = timedelta(0),
    ) -> list[SessionEvent]:
        """Exchange the current refresh token for a new one.

        `new_hash` is the hash of the presented token's successor (the same for
        every refresh with one token). Presenting the token the last refresh
        replaced, within `grace` of it, when that refresh produced the same
        successor, is a concurrent twin (two tabs, a double click): nothing to
        record, the caller answers with the same pair. Raises `RefreshTokenReused`
        for any other earlier token (the caller then records `revoke`),
        `SessionEnded` if it is over.
        """
        if self.revoked or self.expires_at is None:
            raise SessionEnded("the session has ended; log in again")
        if self.is_twin(presented_hash, new_hash, now, grace):
            return []
        if presented_hash != self.refresh_token_hash:
            raise RefreshTokenReused("a refresh token was used twice; the session is revoked")
        if now >= self.expires_at:
            raise SessionEnded("the session has expired; log in again")
        return [
            SessionRefreshed(
                refresh_token_hash=new_hash,
                expires_at=expires_at,
                at=now,
                previous_hash=presented_hash,
            )
        ]

    def is_twin(self, presented_hash: str, new_hash: str, now: datetime, grace: timedelta) -> bool:
        return (
            self.rotated_at is not None
            and presented_hash == self.previous_refresh_hash
            and new_hash == self.refresh_token_hash
            and now - self.rotated_at <= grace
        )

    def revoke(self, reason: RevokeReason, now: datetime) -> list[SessionEvent]:
        if self.revoked or self.version == 0:
            return []
        return [SessionRevoked(reason=reason, at=now)]


def session_stream(session_id: UUID) -> str:
    return f"session-{session_id}"


def session_event(event_type: str, data: dict[str, Any]) -> SessionEvent:
    return SessionEvent.types[event_type].model_validate(data)

"""The tickets service's own view of users, fed by identity's events.

It never reads identity's tables: name, e-mail, locale and roles arrive as
`UserRegistered`, `UserActivated`, `RolesChanged`, ... on the IDENTITY stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from helpdesk.contracts.actors import Role
from helpdesk.contracts.identity import (
    ActivationResent,
    PasswordChanged,
    RecoveryRequested,
    RolesChanged,
    UserActivated,
    UserRegistered,
    raw_token_v1,
)
from helpdesk.contracts.tickets import Contact
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.events import Delivery, EventHandlers, on_events

CONSUMER_NAME = "tickets-users"


@dataclass(frozen=True)
class User:
    user_id: UUID
    name: str | None
    email: str | None
    locale: str
    roles: tuple[Role, ...]
    active: bool
    deactivated: bool = False  # by an admin (not merely not activated yet)

    @property
    def contact(self) -> Contact:
        return Contact(user_id=self.user_id, name=self.name, email=self.email, locale=self.locale)

    @property
    def is_agent(self) -> bool:
        return Role.AGENT in self.roles or Role.ADMIN in self.roles


# A user's columns as `User` reads them, from the `users` row `u`.
USER_COLUMNS = (
    "u.user_id, u.name, u.email, u.locale, u.roles, u.active,"
    " (NOT u.active AND u.active_as_of IS NOT NULL) AS deactivated"
)


async def find_user(conn: Connection, user_id: UUID) -> User | None:
    row = await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM users u WHERE u.user_id = $1", user_id)
    return user_of(row)


def user_of(row: asyncpg.Record | None) -> User | None:
    """The `User` in a row of USER_COLUMNS; None for no row or an outer join's NULLs."""
    if row is None or row["user_id"] is None:
        return None
    roles = tuple(Role(r) for r in row["roles"] if r in Role._value2member_map_)
    return User(
        row["user_id"],
        row["name"],
        row["email"],
        row["locale"],
        roles,
        row["active"],
        row["deactivated"],
    )


async def find_active_user_by_email(conn: Connection, email: str) -> User | None:
    """The active user with this address (identity keeps addresses unique)."""
    row = await conn.fetchrow(
        "SELECT user_id FROM users WHERE lower(email) = lower($1) AND active"
        " ORDER BY updated_at DESC LIMIT 1",
        email.strip(),
    )
    return await find_user(conn, row["user_id"]) if row else None


class PostgresUsers:
    """The `UserDirectory` port on the unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def get(self, user_id: UUID) -> User | None:
        return await find_user(self.conn, user_id)

    async def active_by_email(self, email: str) -> User | None:
        return await find_active_user_by_email(self.conn, email)

    async def active_by_login(self, login: str) -> User | None:
        row = await self.conn.fetchrow(
            "SELECT user_id FROM users WHERE active AND"
            " (lower(username) = lower($1) OR lower(email) = lower($1))"
            " ORDER BY lower(username) = lower($1) DESC, updated_at DESC LIMIT 1",
            login.strip(),
        )
        return await find_user(self.conn, row["user_id"]) if row else None

    async def set_active(self, user_id: UUID, active: bool, at: datetime) -> bool:
        """Set `active`, unless the row holds a newer status already."""
        done = await self.conn.fetchval(
            "INSERT INTO users (user_id, active, active_as_of) VALUES ($1, $2, $3)"
            " ON CONFLICT (user_id) DO UPDATE SET active = excluded.active,"
            " active_as_of = excluded.active_as_of, updated_at = now()"
            " WHERE users.active_as_of IS NULL OR users.active_as_of <= excluded.active_as_of"
            " RETURNING true",
            user_id,
            active,
            at,
        )
        return bool(done)


# Each upsert applies only if the event is not older than what the row holds:
# a retried earlier event must not overtake (undo) a later one.
_UPSERT_PROFILE = (
    "INSERT INTO users (user_id, name, username, email, locale, profile_as_of)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
    " ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, username = excluded.username,"
    " email = excluded.email, locale = excluded.locale,"
    " profile_as_of = excluded.profile_as_of, updated_at = now()"
    " WHERE users.profile_as_of IS NULL OR users.profile_as_of <= excluded.profile_as_of"
)
_UPSERT_ROLES = (
    "INSERT INTO users (user_id, roles, roles_as_of) VALUES ($1, $2, $3)"
    " ON CONFLICT (user_id) DO UPDATE SET roles = excluded.roles,"
    " roles_as_of = excluded.roles_as_of, updated_at = now()"
    " WHERE users.roles_as_of IS NULL OR users.roles_as_of <= excluded.roles_as_of"
)


# Each handler keeps the users table in step with identity (idempotent; an event
# older than the values it would set is ignored, so redelivery order cannot matter).


async def on_registered(event: UserRegistered, delivery: Delivery) -> None:
    conn, at = delivery.conn, delivery.occurred_at
    profile = (event.user_id, event.name, event.username, event.email, event.locale)
    await conn.execute(_UPSERT_PROFILE, *profile, at)
    await conn.execute(_UPSERT_ROLES, event.user_id, [r.value for r in event.roles], at)
    if not event.awaits_activation and raw_token_v1(delivery.envelope) is None:
        # Created by an operator: there is no activation step to wait for (a
        # schema-1 event carried its token raw; tickets never opens a sealed one).
        await conn.execute("UPDATE users SET active = true WHERE user_id = $1", event.user_id)


async def on_activated(event: UserActivated, delivery: Delivery) -> None:
    # Only a deactivation (handlers/assignment.py) undoes it: a late redelivery
    # must not make a since deactivated user active again.
    await delivery.conn.execute(
        "INSERT INTO users (user_id, username, active) VALUES ($1, $2, true)"
        " ON CONFLICT (user_id) DO UPDATE SET active = true, updated_at = now()"
        " WHERE users.active_as_of IS NULL OR users.active_as_of <= $3",
        event.user_id,
        event.username,
        delivery.occurred_at,
    )


async def on_roles_changed(event: RolesChanged, delivery: Delivery) -> None:
    roles = [r.value for r in event.roles]
    await delivery.conn.execute(_UPSERT_ROLES, event.user_id, roles, delivery.occurred_at)


async def on_profile_carried(
    event: ActivationResent | RecoveryRequested | PasswordChanged, delivery: Delivery
) -> None:
    """These carry the current name, e-mail and locale: keep ours fresh."""
    profile = (event.user_id, event.name, event.username, event.email, event.locale)
    await delivery.conn.execute(_UPSERT_PROFILE, *profile, delivery.occurred_at)


EVENT_HANDLERS: EventHandlers[Delivery] = {
    UserRegistered: on_registered,
    UserActivated: on_activated,
    RolesChanged: on_roles_changed,
    ActivationResent: on_profile_carried,
    RecoveryRequested: on_profile_carried,
    PasswordChanged: on_profile_carried,
}


def users_consumer() -> EventConsumer:
    return on_events(CONSUMER_NAME, EVENT_HANDLERS, deps=lambda delivery: delivery)

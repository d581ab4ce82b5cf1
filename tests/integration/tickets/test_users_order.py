"""The tickets users projection ignores an identity event older than the
values it holds: a retried earlier event cannot overtake a later one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from helpdesk.contracts.actors import Role
from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.identity import PasswordChanged, RolesChanged, UserRegistered
from helpdesk.tickets.adapters.users import find_user, users_consumer
from tests.schemas import migrated_pool
from tests.servers import Servers

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture
async def pool(servers: Servers) -> AsyncIterator[asyncpg.Pool]:
    _, pool = await migrated_pool(servers.database_url, "tickets", prefix="tu", max_size=2)
    yield pool
    await pool.close()


async def apply(pool: asyncpg.Pool, event: EventData, minutes: int) -> None:
    envelope = EventEnvelope.wrap(
        event, correlation_id="c", occurred_at=T0 + timedelta(minutes=minutes)
    )
    async with pool.acquire() as conn, conn.transaction():
        await users_consumer().handler(conn, envelope)


async def test_an_older_event_redelivered_late_does_not_overwrite_a_newer_one(
    pool: asyncpg.Pool,
) -> None:
    user_id = uuid.uuid4()
    profile = {"user_id": user_id, "name": "Μαρία", "username": "maria", "locale": "el"}
    registered = UserRegistered(
        **profile, email="old@example.org", roles=[Role.CUSTOMER], registered_at=T0
    )
    promoted = RolesChanged(user_id=user_id, roles=[Role.CUSTOMER, Role.AGENT])
    demoted = RolesChanged(user_id=user_id, roles=[Role.CUSTOMER])
    changed = PasswordChanged(**profile, email="new@example.org", changed_at=T0)

    # Delivered out of order: the newest first, the older ones after their retries.
    await apply(pool, changed, minutes=3)
    await apply(pool, demoted, minutes=2)
    await apply(pool, registered, minutes=0)
    await apply(pool, promoted, minutes=1)

    async with pool.acquire() as conn:
        user = await find_user(conn, user_id)
    assert user is not None
    assert user.email == "new@example.org"
    assert user.roles == (Role.CUSTOMER,)

    # In order, every event still applies.
    await apply(pool, RolesChanged(user_id=user_id, roles=[Role.ADMIN]), minutes=4)
    async with pool.acquire() as conn:
        user = await find_user(conn, user_id)
    assert user is not None
    assert user.roles == (Role.ADMIN,)

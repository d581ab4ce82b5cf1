"""The webhook deliveries against a real PostgreSQL (migration notifier_0004):
recorded once per endpoint, event and type however often the event comes,
only for the endpoints that chose the type, claimed by one sender at a time,
and a delivery that fails for good disables its endpoint once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import asyncpg
import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.webhooks import RegisterWebhook, WebhookEventType
from helpdesk.notifier.adapters.webhook_store import PostgresWebhooks, RecordedDeliveries
from helpdesk.servicekit.db import (
    KIT_MIGRATIONS,
    Connection,
    apply_migrations,
    create_pool,
    migration_files,
)
from tests.servers import Servers

pytestmark = pytest.mark.integration

SUBMITTED = WebhookEventType.TICKET_SUBMITTED


@pytest.fixture
async def store(servers: Servers) -> AsyncIterator[PostgresWebhooks]:
    schema = f"nw_{uuid.uuid4().hex[:10]}"
    pool: asyncpg.Pool = await create_pool(servers.database_url, schema, min_size=1, max_size=5)
    await apply_migrations(
        pool, schema, migration_files(files(KIT_MIGRATIONS), files("helpdesk.notifier.migrations"))
    )
    yield PostgresWebhooks(pool)
    await pool.close()


async def register(store: PostgresWebhooks, *types: WebhookEventType) -> uuid.UUID:
    command = RegisterWebhook(
        actor=Actor(user_id=uuid.uuid4(), roles=[Role.ADMIN], session_id="s"),
        url="https://hooks.example/in",
        event_types=list(types),
        alert_email="admin@example.org",
    )
    return (await store.create(command, "whsec_c2VjcmV0")).webhook_id


async def record(store: PostgresWebhooks, event_id: uuid.UUID) -> int:
    async with store.pool.acquire() as conn:
        outbox = RecordedDeliveries(conn, event_id, datetime.now(UTC), retry_seconds=60)
        return await outbox.record(
            {
                SUBMITTED: {"number": "HD-1"},
                WebhookEventType.TICKET_SUBMITTED_PERSONAL: {"number": "HD-1", "subject": "x"},
            }
        )


async def test_an_event_is_recorded_once_per_endpoint_that_chose_its_type(
    store: PostgresWebhooks,
) -> None:
    plain = await register(store, SUBMITTED)
    personal = await register(store, WebhookEventType.TICKET_SUBMITTED_PERSONAL)
    await register(store, WebhookEventType.TICKET_ASSIGNED)
    event_id = uuid.uuid4()
    assert await record(store, event_id) == 2
    assert await record(store, event_id) == 0  # redelivered: nothing twice
    plain_log = await store.deliveries(plain, 10)
    personal_log = await store.deliveries(personal, 10)
    assert plain_log is not None
    assert personal_log is not None
    assert [d.event_type for d in plain_log] == [SUBMITTED]
    assert [d.event_type for d in personal_log] == [WebhookEventType.TICKET_SUBMITTED_PERSONAL]


async def test_a_claimed_delivery_is_not_claimed_again_until_settled(
    store: PostgresWebhooks,
) -> None:
    await register(store, SUBMITTED)
    await record(store, uuid.uuid4())
    first = await store.claim(10, lease_seconds=60)
    assert len(first) == 1
    assert first[0].attempts == 1
    assert await store.claim(10, lease_seconds=60) == []
    await store.retry(first[0].delivery_id, 0, 500, "HTTP 500")
    again = await store.claim(10, lease_seconds=60)
    assert [d.attempts for d in again] == [2]


async def test_a_delivery_that_fails_for_good_disables_its_endpoint_once(
    store: PostgresWebhooks,
) -> None:
    webhook_id = await register(store, SUBMITTED)
    await record(store, uuid.uuid4())
    await record(store, uuid.uuid4())
    first, second = await store.claim(10, lease_seconds=60)
    told: list[dict[str, Any]] = []

    async def tell(conn: Connection, disabled: dict[str, Any]) -> None:
        assert conn.is_in_transaction()  # the disabling's own
        told.append(disabled)

    async def crash(conn: Connection, disabled: dict[str, Any]) -> None:
        raise ConnectionError("the notifier died while telling")

    # Telling failed: the endpoint is not disabled either, and the next try tells.
    with pytest.raises(ConnectionError):
        await store.failed(first.delivery_id, 500, "HTTP 500", crash)
    [endpoint] = await store.all()
    assert endpoint.enabled
    disabled = await store.failed(first.delivery_id, 500, "HTTP 500", tell)
    assert disabled is not None
    assert told == [disabled]
    assert disabled["alert_email"] == "admin@example.org"
    assert disabled["reason"] == "HTTP 500"
    assert await store.failed(second.delivery_id, 500, "HTTP 500", tell) is None  # told once
    assert len(told) == 1
    [endpoint] = await store.all()
    assert not endpoint.enabled
    assert await store.claim(10, lease_seconds=0) == []  # a disabled endpoint gets nothing
    resent = await store.resend(webhook_id, first.delivery_id)
    assert resent is not None
    assert resent.status == "pending"
    [endpoint] = await store.all()
    assert endpoint.enabled

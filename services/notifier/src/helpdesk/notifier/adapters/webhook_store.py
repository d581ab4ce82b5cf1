"""Webhooks in the notifier's database (migration notifier_0004): the endpoints,
the deliveries the ticket-event consumer records (`RecordedDeliveries`, on the
delivery's connection), and what the sender claims and settles.

* `record` is one INSERT … SELECT over the enabled endpoints that chose each
  type, keyed by (endpoint, event, type): a redelivered event records nothing
  twice, so the consumer needs no inbox (a statement is its own transaction).
* `claim` takes due rows with `FOR UPDATE SKIP LOCKED` and pushes their
  `next_attempt_at` one lease ahead in the same statement (as the mail queue):
  replicas never send a row at once; a crashed sender's rows come back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from helpdesk.contracts.webhooks import (
    RegisterWebhook,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
    WebhookEventType,
    WebhookPayload,
)
from helpdesk.servicekit.db import Connection

_WEBHOOK_COLUMNS = "webhook_id, url, event_types, description, enabled, disabled_reason, created_at"
_DELIVERY_COLUMNS = (
    "delivery_id, webhook_id, event_type, event_id, status, attempts, created_at,"
    " last_attempt_at, last_status_code, last_error, delivered_at"
)


def _webhook(row: asyncpg.Record) -> Webhook:
    return Webhook(**dict(row))


def _delivery(row: asyncpg.Record) -> WebhookDelivery:
    return WebhookDelivery(**dict(row))


class RecordedDeliveries:
    """The handlers' `WebhookOutbox` for one event, on the consumer's connection."""

    def __init__(
        self,
        conn: Connection,
        event_id: UUID,
        occurred_at: datetime,
        retry_seconds: float,
        people: Collection[UUID] = (),
    ) -> None:
        self.conn = conn
        self.event_id = event_id
        self.occurred_at = occurred_at
        self.retry_seconds = retry_seconds
        self.people = sorted(people) or None  # whose data the event held (erasure)

    async def record(self, payloads: dict[WebhookEventType, dict[str, Any]]) -> int:
        recorded = 0
        for event_type, data in payloads.items():
            body = WebhookPayload(type=event_type, timestamp=self.occurred_at, data=data)
            rows = await self.conn.fetch(
                "INSERT INTO webhook_deliveries"
                " (delivery_id, webhook_id, event_id, event_type, body, retry_until, people)"
                " SELECT gen_random_uuid(), webhook_id, $1, $2, $3,"
                "        now() + make_interval(secs => $4), $5"
                " FROM webhooks WHERE enabled AND $2 = ANY(event_types)"
                " ON CONFLICT DO NOTHING RETURNING delivery_id",
                self.event_id,
                event_type.value,
                body.model_dump_json().encode(),
                self.retry_seconds,
                self.people,
            )
            recorded += len(rows)
        return recorded


@dataclass(frozen=True)
class ClaimedDelivery:
    delivery_id: UUID
    webhook_id: UUID
    url: str
    secret: str
    body: bytes
    attempts: int  # this attempt's number
    expired: bool  # past retry_until: this attempt is the last


_CLAIM = """
UPDATE webhook_deliveries d
SET next_attempt_at = now() + make_interval(secs => $2), attempts = d.attempts + 1,
    last_attempt_at = now()
FROM (
    SELECT dd.delivery_id FROM webhook_deliveries dd
    JOIN webhooks w USING (webhook_id)
    WHERE dd.status = 'pending' AND dd.next_attempt_at <= now() AND w.enabled
    ORDER BY dd.next_attempt_at
    LIMIT $1
    FOR UPDATE OF dd SKIP LOCKED
) due, webhooks w
WHERE d.delivery_id = due.delivery_id AND w.webhook_id = d.webhook_id
RETURNING d.delivery_id, d.webhook_id, w.url, w.secret, d.body, d.attempts,
          d.retry_until <= now() AS expired
"""


class PostgresWebhooks:
    """The admins' `WebhookStore` and the sender's queue."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # ------------------------------------------------------------ endpoints

    async def create(self, command: RegisterWebhook, secret: str) -> WebhookCreated:
        row = await self.pool.fetchrow(
            "INSERT INTO webhooks (webhook_id, url, event_types, description, secret,"
            " alert_email, alert_locale, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            f" RETURNING {_WEBHOOK_COLUMNS}",
            uuid.uuid4(),
            command.url,
            sorted({t.value for t in command.event_types}),
            command.description,
            secret,
            command.alert_email,
            command.alert_locale,
            command.actor.user_id,
        )
        assert row is not None
        return WebhookCreated(**dict(row), secret=secret)

    async def all(self) -> list[Webhook]:
        rows = await self.pool.fetch(f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at")
        return [_webhook(r) for r in rows]

    async def delete(self, webhook_id: UUID) -> bool:
        deleted = await self.pool.fetchval(
            "DELETE FROM webhooks WHERE webhook_id = $1 RETURNING true", webhook_id
        )
        return bool(deleted)

    async def deliveries(self, webhook_id: UUID, limit: int) -> list[WebhookDelivery] | None:
        async with self.pool.acquire() as conn:
            if not await conn.fetchval(
                "SELECT true FROM webhooks WHERE webhook_id = $1", webhook_id
            ):
                return None
            rows = await conn.fetch(
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1"
                " ORDER BY created_at DESC LIMIT $2",
                webhook_id,
                limit,
            )
        return [_delivery(r) for r in rows]

    async def resend(self, webhook_id: UUID, delivery_id: UUID) -> WebhookDelivery | None:
        """A new series of attempts from now (the same `webhook-id`); the endpoint is
        enabled again: an admin who re-sends has fixed the receiver."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,"
                " next_attempt_at = now(),"
                " retry_until = now() + (retry_until - created_at), delivered_at = NULL"
                " WHERE webhook_id = $1 AND delivery_id = $2"
                f" RETURNING {_DELIVERY_COLUMNS}",
                webhook_id,
                delivery_id,
            )
            if row is not None:
                await conn.execute(
                    "UPDATE webhooks SET enabled = true, disabled_reason = NULL"
                    " WHERE webhook_id = $1",
                    webhook_id,
                )
        return _delivery(row) if row is not None else None

    # ------------------------------------------------------------ sending

    async def claim(self, limit: int, lease_seconds: float) -> list[ClaimedDelivery]:
        rows = await self.pool.fetch(_CLAIM, limit, lease_seconds)
        return [
            ClaimedDelivery(
                delivery_id=r["delivery_id"],
                webhook_id=r["webhook_id"],
                url=r["url"],
                secret=r["secret"],
                body=bytes(r["body"]),
                attempts=r["attempts"],
                expired=r["expired"],
            )
            for r in rows
        ]

    async def delivered(self, delivery_id: UUID, status_code: int) -> None:
        await self.pool.execute(
            "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(),"
            " last_status_code = $2, last_error = NULL WHERE delivery_id = $1",
            delivery_id,
            status_code,
        )

    async def retry(
        self, delivery_id: UUID, delay_seconds: float, status_code: int | None, error: str
    ) -> None:
        await self.pool.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2),"
            " last_status_code = $3, last_error = $4 WHERE delivery_id = $1",
            delivery_id,
            delay_seconds,
            status_code,
            error,
        )

    async def failed(
        self,
        delivery_id: UUID,
        status_code: int | None,
        error: str,
        on_disabled: Callable[[Connection, dict[str, Any]], Awaitable[None]],
    ) -> dict[str, Any] | None:
        """The delivery gave up; its endpoint is disabled. The endpoint (its alert
        address and locale, the reason) if this disabled it, None if it already was;
        `on_disabled` records what telling the admins takes in the same transaction,
        so a crash cannot disable an endpoint untold, nor tell twice."""
        async with self.pool.acquire() as conn, conn.transaction():
            webhook_id = await conn.fetchval(
                "UPDATE webhook_deliveries SET status = 'failed', last_status_code = $2,"
                " last_error = $3 WHERE delivery_id = $1 RETURNING webhook_id",
                delivery_id,
                status_code,
                error,
            )
            row = await conn.fetchrow(
                "UPDATE webhooks SET enabled = false, disabled_reason = $2"
                " WHERE webhook_id = $1 AND enabled"
                " RETURNING webhook_id, url, alert_email, alert_locale",
                webhook_id,
                f"deliveries failed for their whole retry period (last: {error})",
            )
            if row is None:
                return None
            disabled = dict(row) | {"reason": error}
            await on_disabled(conn, disabled)
        return disabled

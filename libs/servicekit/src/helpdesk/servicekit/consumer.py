"""Idempotent JetStream consumers with back-off and a dead-letter table.

A handler is `async def handle(conn, envelope) -> None`. It runs inside a
transaction that also records `(consumer, event_id)` in the inbox, so a
redelivered event has no second effect. A failing handler is retried with
back-off (nak with delay); after `max_deliver` deliveries the message is
parked in `dead_letters`, logged and counted, and acknowledged. `redrive`
runs a parked message through the handler again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from prometheus_client import Counter
from pydantic import ValidationError

from helpdesk.contracts.admin import DeadLetter
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.subjects import MSG_ID_HEADER, stream_name
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.logging import bind_correlation_id, get_logger

log = get_logger(__name__)

EventHandler = Callable[[Connection, EventEnvelope], Awaitable[None]]

HANDLED = Counter("consumer_events_handled_total", "Events handled", ["consumer"])
DUPLICATES = Counter("consumer_events_duplicate_total", "Redelivered events skipped", ["consumer"])
FAILURES = Counter("consumer_handler_failures_total", "Handler failures", ["consumer"])
DEAD_LETTERED = Counter(
    "consumer_dead_letters_total", "Events parked as dead letters", ["consumer"]
)


@dataclass(frozen=True)
class EventConsumer:
    """A durable consumer of one subject filter (wildcards allowed), built from the
    contracts: `subject=TicketSubmitted.subject_filter()`, `events_of(identity.SERVICE)`.
    The stream is the producer's, named by the subject's first token."""

    name: str
    subject: str
    handler: EventHandler
    max_deliver: int = 5
    backoff: Sequence[float] = (1.0, 5.0, 15.0, 30.0)
    # >1 handles that many messages at once, giving up their order: only for
    # handlers whose effects do not depend on each other (mails, not projections).
    max_workers: int = 1

    @property
    def stream(self) -> str:
        return stream_name(self.subject.split(".", 1)[0])

    def delay_after(self, deliveries: int) -> float:
        return self.backoff[min(deliveries, len(self.backoff)) - 1]


async def handle_once(pool: asyncpg.Pool, consumer: EventConsumer, envelope: EventEnvelope) -> bool:
    """Run the handler unless this consumer already handled the event."""
    async with pool.acquire() as conn, conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING true",
            consumer.name,
            envelope.event_id,
        )
        if not fresh:
            DUPLICATES.labels(consumer.name).inc()
            return False
        await consumer.handler(conn, envelope)
    HANDLED.labels(consumer.name).inc()
    return True


async def park(
    pool: asyncpg.Pool,
    consumer: EventConsumer,
    *,
    event_id: UUID,
    subject: str,
    payload: bytes,
    headers: dict[str, str],
    error: str,
    deliveries: int,
) -> None:
    await pool.execute(
        "INSERT INTO dead_letters"
        " (consumer, event_id, subject, payload, headers, error, deliveries)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (consumer, event_id) DO UPDATE SET error = excluded.error,"
        " deliveries = dead_letters.deliveries + excluded.deliveries, dead_at = now()",
        consumer.name,
        event_id,
        subject,
        payload,
        headers,
        error,
        deliveries,
    )
    DEAD_LETTERED.labels(consumer.name).inc()
    log.error(
        "event dead-lettered",
        consumer=consumer.name,
        event_id=str(event_id),
        subject=subject,
        error=error,
        deliveries=deliveries,
    )


async def on_delivery(pool: asyncpg.Pool, consumer: EventConsumer, msg: NatsMessage) -> None:
    """Handle one JetStream delivery and settle it (ack, nak with delay, or park)."""
    raw = msg.raw_message
    headers = dict(raw.headers or {})
    deliveries = raw.metadata.num_delivered or 1
    try:
        envelope = EventEnvelope.model_validate_json(raw.data)
    except ValidationError as exc:
        # A malformed message will never succeed: park it at once.
        event_id = _uuid_or_new(headers.get(MSG_ID_HEADER))
        await park(
            pool,
            consumer,
            event_id=event_id,
            subject=raw.subject,
            payload=raw.data,
            headers=headers,
            error=f"malformed envelope: {exc}",
            deliveries=deliveries,
        )
        await msg.ack()
        return
    bind_correlation_id(envelope.correlation_id)
    try:
        await handle_once(pool, consumer, envelope)
    except Exception as exc:
        FAILURES.labels(consumer.name).inc()
        if deliveries >= consumer.max_deliver:
            await park(
                pool,
                consumer,
                event_id=envelope.event_id,
                subject=raw.subject,
                payload=raw.data,
                headers=headers,
                error=repr(exc),
                deliveries=deliveries,
            )
            await msg.ack()
        else:
            delay = consumer.delay_after(deliveries)
            log.warning(
                "event handler failed; will retry",
                consumer=consumer.name,
                event_id=str(envelope.event_id),
                error=repr(exc),
                deliveries=deliveries,
                retry_in=delay,
            )
            await msg.nack(delay=delay)
        return
    await msg.ack()


def _uuid_or_new(value: str | None) -> UUID:
    try:
        return UUID(value or "")
    except ValueError:
        return uuid4()


def subscribe(
    broker: NatsBroker, pool: asyncpg.Pool, consumer: EventConsumer, inbox_prefix: str = "_INBOX"
) -> None:
    """Declare the durable pull consumer on the broker (started with the broker).
    Pulled messages arrive under `inbox_prefix`, which the service's NATS
    permissions allow it to subscribe to (nats_auth.inbox_prefix)."""

    @broker.subscriber(
        consumer.subject,
        stream=JStream(consumer.stream, declare=False),
        durable=consumer.name,
        pull_sub=PullSub(batch_size=16, timeout=1.0),
        inbox_prefix=f"{inbox_prefix}.".encode(),
        max_workers=consumer.max_workers,
        ack_policy=AckPolicy.MANUAL,
        # One spare delivery: the handler parks the message on the last one itself.
        config=ConsumerConfig(max_deliver=consumer.max_deliver + 1, ack_wait=60),
        description=f"{consumer.name}: {consumer.handler.__doc__ or ''}".strip(),
    )
    async def deliver(body: Any, msg: NatsMessage) -> None:
        await on_delivery(pool, consumer, msg)


async def list_dead_letters(pool: asyncpg.Pool) -> list[DeadLetter]:
    rows = await pool.fetch(
        "SELECT id, consumer, event_id, subject, error, deliveries, dead_at::text AS dead_at"
        " FROM dead_letters ORDER BY id"
    )
    return [DeadLetter(**dict(r.items())) for r in rows]


async def redrive(
    pool: asyncpg.Pool, consumers: Sequence[EventConsumer], dead_letter_id: int
) -> bool:
    """Run a parked message through its handler again; on success it leaves the table."""
    row = await pool.fetchrow(
        "SELECT consumer, payload FROM dead_letters WHERE id = $1", dead_letter_id
    )
    if row is None:
        return False
    by_name = {c.name: c for c in consumers}
    consumer = by_name[row["consumer"]]
    envelope = EventEnvelope.model_validate_json(row["payload"])
    await handle_once(pool, consumer, envelope)
    await pool.execute("DELETE FROM dead_letters WHERE id = $1", dead_letter_id)
    log.info("dead letter re-driven", consumer=consumer.name, event_id=str(envelope.event_id))
    return True

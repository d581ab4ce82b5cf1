"""Idempotent JetStream consumers with back-off and a dead-letter table.

A handler is `async def handle(conn, envelope) -> None`. It runs inside a
transaction that also records `(consumer, event_id)` in the inbox, so a
redelivered event has no second effect. A consumer whose every write is
idempotent by a key of its own, derived from the event (the notifier's one
mail per (event, recipient, template)), says `inbox=False`: its handler runs
on a plain connection, each statement its own transaction, and a redelivery —
after a crash between two of its writes too — finds the written keys taken
and adds only what is missing. That saves the transaction's three round trips
and the inbox row per event. A consumer that names the event types
it `handles` acknowledges the others of its subject filter at once, without a
transaction: the handler would do nothing with them, so there is nothing to
record. A failing handler is retried with back-off (nak with delay); after
`max_deliver` deliveries the message is parked in `dead_letters`, logged and
counted, and acknowledged. `redrive` runs a parked message through the
handler again.

Nothing is ever dropped: the server-side consumer redelivers without limit
(`max_deliver=-1`) and the delivery count is ours; if parking fails too (the
database is down), the message is nak'ed and tried again later, until it is
either handled or parked. `ack_wait` is short (a crashed replica's messages
come back in seconds) and a long-running handler keeps its message with
in-progress acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import nats.js.errors
from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, NatsRouter, PullSub
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from helpdesk.contracts.admin import DeadLetter
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.subjects import MSG_ID_HEADER, stream_name
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.erasure import NotYet
from helpdesk.servicekit.logging import bind_correlation_id, describe_error, get_logger
from helpdesk.servicekit.messages import CurrentMessage, current_message
from helpdesk.servicekit.personal_data import opened_envelope

log = get_logger(__name__)

EventHandler = Callable[[Connection, EventEnvelope], Awaitable[None]]

HANDLED = Counter("consumer_events_handled_total", "Events handled", ["consumer"])
SKIPPED = Counter(
    "consumer_events_skipped_total", "Events of a type the consumer does not handle", ["consumer"]
)
DUPLICATES = Counter("consumer_events_duplicate_total", "Redelivered events skipped", ["consumer"])
FAILURES = Counter("consumer_handler_failures_total", "Handler failures", ["consumer"])
DEAD_LETTERED = Counter(
    "consumer_dead_letters_total", "Events parked as dead letters", ["consumer"]
)
PARK_FAILURES = Counter(
    "consumer_park_failures_total",
    "Events that could not be parked (database down) and will be tried again",
    ["consumer"],
)
PENDING = Gauge(
    "consumer_pending_messages",
    "Messages of the durable consumer not yet acknowledged (waiting or in flight)",
    ["consumer"],
)

# Seconds JetStream waits for an ack before redelivering (a crashed replica's
# messages come back this fast); handlers that run longer send in-progress acks.
ACK_WAIT = 15.0
# After a failed park (database down), the message comes back this much later.
PARK_RETRY_DELAY = 10.0


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
    # 1 handles the messages one after another, in the order they arrive; >1
    # handles that many at once, giving up their order: only for handlers whose
    # effects do not depend on each other (mails, not projections). A redelivered
    # message comes back after later ones either way.
    max_workers: int = 1
    ack_wait: float = ACK_WAIT
    park_retry_delay: float = PARK_RETRY_DELAY
    # The event types the handler acts on (None: every one). Others are acked
    # unhandled; a subject filter often spans more types than a handler uses
    # (`tickets.events.>` for the assignment consumer).
    handles: frozenset[str] | None = None
    # False only for a handler whose every write is keyed by the event, so that
    # doing it twice changes nothing (INSERT … ON CONFLICT DO NOTHING on such a
    # key): it runs without a transaction or an inbox row (see the module's doc).
    inbox: bool = True

    def __post_init__(self) -> None:
        if not _CONSUMER_NAME.fullmatch(self.name):
            raise ValueError(f"a consumer's name is letters, digits, - and _: {self.name!r}")

    @property
    def stream(self) -> str:
        return stream_name(self.subject.split(".", 1)[0])

    def delay_after(self, deliveries: int) -> float:
        return self.backoff[min(deliveries, len(self.backoff)) - 1]


# The transaction opens with the inbox row, in one round trip: a simple query
# (no parameters: the consumer's name is checked when it is declared, and an
# event id is a UUID), whose status says whether the row is new.
_OPEN_WITH_INBOX_ROW = (
    "BEGIN; INSERT INTO inbox (consumer, event_id) VALUES ('{consumer}', '{event_id}')"
    " ON CONFLICT DO NOTHING"
)
_CONSUMER_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")


async def handle_once(pool: asyncpg.Pool, consumer: EventConsumer, envelope: EventEnvelope) -> bool:
    """Run the handler unless this consumer already handled the event: the inbox
    row, the handler's statements and COMMIT are one transaction. A consumer
    without an inbox runs it as it is: its own keys make a second run a no-op.
    The handler gets the event's personal fields opened (personal_data.py);
    what was received, and what a dead letter keeps, stays sealed."""
    if not consumer.inbox:
        async with pool.acquire() as conn:
            await consumer.handler(conn, await opened_envelope(conn, envelope))
        HANDLED.labels(consumer.name).inc()
        return True
    opening = _OPEN_WITH_INBOX_ROW.format(
        consumer=consumer.name, event_id=UUID(str(envelope.event_id))
    )
    async with pool.acquire() as conn:
        try:
            if await conn.execute(opening) != "INSERT 0 1":
                DUPLICATES.labels(consumer.name).inc()
                return False
            await consumer.handler(conn, await opened_envelope(conn, envelope))
            await conn.execute("COMMIT")
        finally:
            if conn.is_in_transaction():
                with contextlib.suppress(Exception):  # a broken connection ends it anyway
                    await conn.execute("ROLLBACK")
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


@contextlib.contextmanager
def kept_in_progress(msg: NatsMessage, every: float) -> Iterator[None]:
    """Tell JetStream the message is still being worked on while the body runs.

    A timer, not a task: nearly every handler ends long before the first beat,
    and a timer costs a fraction of a task to start and cancel."""
    loop = asyncio.get_running_loop()
    beats: set[asyncio.Task[None]] = set()  # held until done (the loop keeps weak refs)

    async def tell() -> None:
        with contextlib.suppress(Exception):
            await msg.in_progress()

    timer: asyncio.TimerHandle | None = None

    def beat() -> None:
        nonlocal timer
        task = loop.create_task(tell())
        beats.add(task)
        task.add_done_callback(beats.discard)
        timer = loop.call_later(every, beat)

    timer = loop.call_later(every, beat)
    try:
        yield
    finally:
        timer.cancel()


async def park_or_retry(
    pool: asyncpg.Pool,
    consumer: EventConsumer,
    msg: NatsMessage,
    *,
    event_id: UUID,
    error: str,
    deliveries: int,
) -> None:
    """Park the message and ack it; if parking fails, nak it to try again later."""
    raw = msg.raw_message
    try:
        await park(
            pool,
            consumer,
            event_id=event_id,
            subject=raw.subject,
            payload=raw.data,
            headers=dict(raw.headers or {}),
            error=error,
            deliveries=deliveries,
        )
    except Exception as exc:
        PARK_FAILURES.labels(consumer.name).inc()
        log.error(
            "event could not be parked; will retry",
            consumer=consumer.name,
            event_id=str(event_id),
            error=repr(exc),
            handler_error=error,
            deliveries=deliveries,
            retry_in=consumer.park_retry_delay,
        )
        await msg.nack(delay=consumer.park_retry_delay)
        return
    await msg.ack()


async def on_delivery(
    pool: asyncpg.Pool,
    consumer: EventConsumer,
    msg: NatsMessage,
    in_order: asyncio.Lock | None = None,
) -> None:
    """Handle one JetStream delivery and settle it (ack, nak with delay, or park).
    With `in_order`, the handler runs under that lock, taken in arrival order."""
    raw = msg.raw_message
    deliveries = raw.metadata.num_delivered or 1
    try:
        envelope = EventEnvelope.model_validate_json(raw.data)
    except ValidationError as exc:
        # A malformed message will never succeed: park it at once.
        event_id = _uuid_or_new(dict(raw.headers or {}).get(MSG_ID_HEADER))
        await park_or_retry(
            pool,
            consumer,
            msg,
            event_id=event_id,
            error=f"malformed envelope: {describe_error(exc)}",
            deliveries=deliveries,
        )
        return
    if consumer.handles is not None and envelope.event_type not in consumer.handles:
        SKIPPED.labels(consumer.name).inc()
        await msg.ack()
        return
    bind_correlation_id(envelope.correlation_id)
    try:
        with kept_in_progress(msg, consumer.ack_wait / 3):  # waiting in line too
            if in_order is None:
                await handle_once(pool, consumer, envelope)
            else:
                async with in_order:
                    await handle_once(pool, consumer, envelope)
    except NotYet as wait:
        # Not a failure: the handler asked to see the event again later.
        await msg.nack(delay=wait.delay)
        return
    except Exception as exc:
        FAILURES.labels(consumer.name).inc()
        if deliveries >= consumer.max_deliver:
            await park_or_retry(
                pool,
                consumer,
                msg,
                event_id=envelope.event_id,
                error=describe_error(exc),
                deliveries=deliveries,
            )
        else:
            delay = consumer.delay_after(deliveries)
            log.warning(
                "event handler failed; will retry",
                consumer=consumer.name,
                event_id=str(envelope.event_id),
                error=describe_error(exc),
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


async def _raw_body(message: NatsMessage) -> bytes:
    return message.body


def subscribe(
    broker: NatsBroker, pool: asyncpg.Pool, consumer: EventConsumer, inbox_prefix: str = "_INBOX"
) -> None:
    """Declare the durable pull consumer on the broker (started with the broker).
    Pulled messages arrive under `inbox_prefix`, which the service's NATS
    permissions allow it to subscribe to (nats_auth.inbox_prefix)."""

    pulled = NatsRouter(middlewares=[CurrentMessage])
    # Every counter of the consumer exists from the start, at 0: an alert on
    # its increase (HelpdeskConsumerStalled) must see a consumer that never counted.
    for counter in (HANDLED, SKIPPED, DUPLICATES, FAILURES, DEAD_LETTERED, PARK_FAILURES):
        counter.labels(consumer.name)

    # FastStream starts a task per message of a fetched batch, all at once, even
    # for one worker; a consumer of one worker handles them one after another,
    # in the order they arrived (an asyncio lock is first come, first served).
    in_order = asyncio.Lock() if consumer.max_workers == 1 else None

    @pulled.subscriber(
        consumer.subject,
        stream=JStream(consumer.stream, declare=False),
        durable=consumer.name,
        pull_sub=PullSub(batch_size=16, timeout=1.0),
        inbox_prefix=f"{inbox_prefix}.".encode(),
        max_workers=consumer.max_workers,
        ack_policy=AckPolicy.MANUAL,
        # No server-side limit: the handler counts deliveries and parks the
        # message itself, so a failed park never lets the server drop it.
        config=ConsumerConfig(max_deliver=-1, ack_wait=consumer.ack_wait),
        description=f"{consumer.name}: {consumer.handler.__doc__ or ''}".strip(),
        # `on_delivery` parses the envelope from the raw bytes itself: FastStream's
        # default decoder would parse the JSON once more, for nothing.
        decoder=_raw_body,
    )
    async def deliver(body: Any) -> None:
        await on_delivery(pool, consumer, current_message(), in_order)

    broker.include_router(pulled)


async def ensure_current_config(js: JetStreamContext, consumer: EventConsumer) -> None:
    """Bring a durable consumer created by an older release to the current
    settings: unlimited redelivery (it once had a bounded `max_deliver` and a 60 s
    `ack_wait`) and the subject filter its handlers now derive (events.on_events);
    a new one is created by the subscriber as declared."""
    try:
        info: ConsumerInfo = await js.consumer_info(consumer.stream, consumer.name)
    except nats.js.errors.NotFoundError:
        return
    config = info.config
    if (
        config.max_deliver == -1
        and config.ack_wait == consumer.ack_wait
        and config.filter_subject == consumer.subject
    ):
        return
    config.max_deliver = -1
    config.ack_wait = consumer.ack_wait
    config.filter_subject = consumer.subject
    await js.add_consumer(consumer.stream, config)
    log.info(
        "durable consumer updated", consumer=consumer.name, max_deliver=-1, subject=consumer.subject
    )


async def watch_lag(
    js: JetStreamContext, consumers: Sequence[EventConsumer], interval: float = 5.0
) -> None:
    """Report each durable consumer's unacknowledged messages (the server's
    count, so a stuck or silently failing consumer shows as a growing number)."""
    while True:
        for consumer in consumers:
            try:
                info = await js.consumer_info(consumer.stream, consumer.name)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: S112 - NATS away: readiness says so; keep the last value
                continue
            PENDING.labels(consumer.name).set((info.num_pending or 0) + (info.num_ack_pending or 0))
        await asyncio.sleep(interval)


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

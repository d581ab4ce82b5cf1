"""Live ticket changes for the pages and API clients (issue 29, docs/workspace.md).

One **ephemeral pull consumer per gateway replica** reads the TICKETS stream's
ticket events (`tickets.events.ticket.>`, no acknowledgements) from a bounded
start — `START_WINDOW` back, never the whole history — and keeps the last
`BUFFER` of them in memory. Every Server-Sent Events connection of the replica
is fed from that one consumer (`TicketFeed.listen`); `Last-Event-ID` (the
stream sequence) resumes from the buffer after a reconnect.

**Authorisation is decided per event and per listener** (`Viewer.may_see`):

* a customer gets an event only about their own ticket. Whether a ticket is
  theirs comes from the events that name the requester; for a ticket whose
  requester the feed has not seen, the tickets service is asked once (GetTicket
  as the customer: 404 means not theirs) and the answer is kept. Unknown means
  no. Customers never get internal notes nor the agents' own events (SLA
  alarms, the admins' waiting notice);
* an agent gets the events of their queues (all queues when they are a member
  of none, or when they ask for `scope=all`), and of tickets assigned to them.

What is sent is the change, never a body: the ticket, its number, the kind of
event, and the fields a page shows (status, priority, queue, the assignee's id).
The gateway never opens personal data: names and texts travel sealed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.subjects import stream_name
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import every, repeat

log = get_logger(__name__)

STREAM = stream_name("tickets")
SUBJECT = "tickets.events.ticket.>"
START_WINDOW = timedelta(minutes=15)  # how far back a replica starts reading
BUFFER = 5000  # events kept for Last-Event-ID
KNOWN_TICKETS = 50_000  # ticket -> (requester, queue) remembered from events
HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies from closing a quiet stream
# The agents' own business: never sent to a customer.
AGENTS_ONLY = frozenset(
    {"TicketSlaWarning", "TicketSlaBreached", "TicketEscalated", "TicketAwaitingAgent"}
)


@dataclass(frozen=True)
class Change:
    """One ticket event as the stream sends it (no bodies)."""

    seq: int
    kind: str
    ticket_id: UUID
    number: str
    at: str
    requester_id: UUID | None
    queue: str | None
    assignee_id: UUID | None
    internal: bool
    fields: dict[str, Any]

    @classmethod
    def of(cls, seq: int, envelope: EventEnvelope) -> Change | None:
        data = envelope.data
        if "ticket_id" not in data:
            return None
        requester = data.get("requester") or {}
        assignee = data.get("assignee") or {}
        shown = {
            name: data[name]
            for name in ("status", "to_status", "priority", "queue")
            if isinstance(data.get(name), str)
        }
        if assignee.get("user_id"):
            # The id, never the name: names travel sealed (issue 30) and the gateway
            # holds no key to open them.
            shown["assignee_id"] = str(assignee["user_id"])
        owner = data.get("requester_id") or requester.get("user_id")
        return cls(
            seq=seq,
            kind=envelope.event_type,
            ticket_id=UUID(str(data["ticket_id"])),
            number=str(data.get("number", "")),
            at=str(data.get("at", "")),
            requester_id=UUID(str(owner)) if owner else None,
            queue=data.get("queue") if isinstance(data.get("queue"), str) else None,
            assignee_id=UUID(str(assignee["user_id"])) if assignee.get("user_id") else None,
            internal=bool(data.get("internal", False)),
            fields=shown,
        )

    def sse(self) -> str:
        """The event as an SSE frame: `id` is the stream sequence (Last-Event-ID)."""
        body = {
            "ticket_id": str(self.ticket_id),
            "number": self.number,
            "kind": self.kind,
            "at": self.at,
            **self.fields,
        }
        # The document states this shape (StreamChange); a test checks it holds.
        return f"id: {self.seq}\nevent: ticket\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"


@dataclass
class Viewer:
    """Who listens, and the per-event decision for them."""

    actor: Actor
    queues: frozenset[str] | None  # an agent's queues; None: every queue
    owns: Callable[[UUID], Awaitable[bool]]  # is this ticket the customer's? (asked once)
    mine: dict[UUID, bool] = field(default_factory=dict)

    async def may_see(self, change: Change, feed: TicketFeed) -> bool:
        if self.actor.is_agent:
            if self.queues is None or change.assignee_id == self.actor.user_id:
                return True
            queue = change.queue or feed.queue_of(change.ticket_id)
            return queue is None or queue in self.queues
        if change.internal or change.kind in AGENTS_ONLY:
            return False
        requester = change.requester_id or feed.requester_of(change.ticket_id)
        if requester is not None:
            return requester == self.actor.user_id
        if change.ticket_id not in self.mine:
            self.mine[change.ticket_id] = await self.owns(change.ticket_id)
        return self.mine[change.ticket_id]


class TicketFeed:
    """The replica's one consumer and the fan-out to its listeners."""

    def __init__(self, *, buffer: int = BUFFER, start_window: timedelta = START_WINDOW) -> None:
        self.buffer: deque[Change] = deque(maxlen=buffer)
        self.start_window = start_window
        self.known: OrderedDict[UUID, tuple[UUID | None, str | None]] = OrderedDict()
        self.listeners: set[asyncio.Queue[Change]] = set()
        self.behind: set[asyncio.Queue[Change]] = set()  # listeners that fell behind
        self.last_seq = 0
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self, js: JetStreamContext) -> None:
        """Follow the stream from now on (once per replica; again if it ever ended)."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run(js), name="ticket-feed")

    # --- the consumer ---------------------------------------------------------------------

    async def run(self, js: JetStreamContext) -> None:
        """Read from a bounded start, then follow; a lost consumer is made again from
        the last sequence seen (gaps cannot happen, repeats are skipped)."""
        await repeat(
            lambda: self._follow(js), pause=every(1.0), failed="ticket feed interrupted; resuming"
        )

    async def _follow(self, js: JetStreamContext) -> None:
        if self.last_seq:
            start = {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE}
            start["opt_start_seq"] = self.last_seq + 1  # type: ignore[assignment]
        else:
            since = datetime.now(UTC) - self.start_window
            start = {"deliver_policy": DeliverPolicy.BY_START_TIME}
            start["opt_start_time"] = since.isoformat()  # type: ignore[assignment]
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            filter_subject=SUBJECT,
            inactive_threshold=60.0,
            **start,  # type: ignore[arg-type]
        )
        subscription = await js.pull_subscribe(SUBJECT, durable=None, stream=STREAM, config=config)
        self.ready.set()
        log.info("ticket feed following", stream=STREAM, after=self.last_seq)
        try:
            while True:
                try:
                    messages = await subscription.fetch(200, timeout=5)
                except TimeoutError:
                    continue
                for msg in messages:
                    self.take(msg.metadata.sequence.stream, msg.data)
        finally:
            self.ready.clear()
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    def take(self, seq: int, raw: bytes) -> Change | None:
        """One message of the stream: remembered, buffered, handed to every listener."""
        if seq <= self.last_seq:
            return None
        self.last_seq = seq
        try:
            change = Change.of(seq, EventEnvelope.model_validate_json(raw))
        except ValueError:
            log.warning("unreadable event on the ticket feed", seq=seq)
            return None
        if change is None:
            return None
        self._remember(change)
        self.buffer.append(change)
        for queue in self.listeners:
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                self.behind.add(queue)  # its stream ends; the client resumes by Last-Event-ID
        return change

    def _remember(self, change: Change) -> None:
        requester, queue = self.known.get(change.ticket_id, (None, None))
        self.known[change.ticket_id] = (change.requester_id or requester, change.queue or queue)
        self.known.move_to_end(change.ticket_id)
        while len(self.known) > KNOWN_TICKETS:
            self.known.popitem(last=False)

    def requester_of(self, ticket_id: UUID) -> UUID | None:
        return self.known.get(ticket_id, (None, None))[0]

    def queue_of(self, ticket_id: UUID) -> str | None:
        return self.known.get(ticket_id, (None, None))[1]

    # --- the listeners --------------------------------------------------------------------

    async def listen(
        self, viewer: Viewer, *, after: int | None, until: datetime
    ) -> AsyncIterator[str]:
        """SSE frames for `viewer`: the buffered changes after `after` (a reconnect's
        Last-Event-ID), then each new one it may see, with heartbeats, until `until`
        (the access token's expiry: the client reconnects with a fresh one)."""
        queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=10_000)
        self.listeners.add(queue)
        try:
            yield f"retry: 2000\n: following from {self.last_seq}\n\n"
            if after is not None:
                for change in [c for c in self.buffer if c.seq > after]:
                    if await viewer.may_see(change, self):
                        yield change.sse()
                    after = change.seq
            while (left := (until - datetime.now(UTC)).total_seconds()) > 0 and (
                queue not in self.behind
            ):
                try:
                    change = await asyncio.wait_for(
                        queue.get(), timeout=min(HEARTBEAT_SECONDS, left)
                    )
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if after is not None and change.seq <= after:
                    continue
                if await viewer.may_see(change, self):
                    yield change.sse()
        finally:
            self.listeners.discard(queue)
            self.behind.discard(queue)


async def viewer_of(
    actor: Actor,
    *,
    everything: bool,
    queues_of: Callable[[], Awaitable[list[str]]],
    owns: Callable[[UUID], Awaitable[bool]],
) -> Viewer:
    """The listener: an agent's queues (asked once, when the stream opens; none or
    `everything`: all), or a customer whose tickets are checked as they come."""
    if not actor.is_agent:
        return Viewer(actor, queues=frozenset(), owns=owns)
    mine = [] if everything else await queues_of()
    return Viewer(actor, queues=frozenset(mine) if mine else None, owns=owns)


def resume_point(last_event_id: str | None) -> int | None:
    """A reconnect's `Last-Event-ID` (the stream sequence it saw last), if it is one."""
    if last_event_id is None or not last_event_id.strip().isdigit():
        return None
    return min(int(last_event_id.strip()), 2**63 - 1)

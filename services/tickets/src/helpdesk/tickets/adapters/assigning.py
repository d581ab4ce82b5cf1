"""Automatic assignment: the consumers that give waiting tickets to agents, and
that take tickets back from deactivated agents (docs/assignment.md).

Exactly once, with any number of replicas and redeliveries:

* the assignment is an event in the ticket's own stream, appended at the
  version the ticket was folded at: a concurrent writer makes the append fail
  and the transaction roll back and run again;
* the aggregate assigns only a ticket that still waits, so a second trigger for
  the same ticket (its submission, then an agent becoming available), or the
  same trigger redelivered, changes nothing. That is why the assignment
  consumer needs no inbox row (`inbox=False`): handling an event twice has the
  effect of handling it once;
* a transaction-scoped advisory lock per queue serialises the choices of one
  queue, so each sees the open counts the previous one left.

A ticket's trigger first reads its queue's candidates without the lock or a
transaction: with nobody available (no members, everyone away) the ticket
waits, and that took one round trip instead of four. Nothing is missed: the
ticket was committed before its event was published, so an agent who becomes
available after that read triggers the assignment of the waiting tickets,
this one among them. With someone available the choice is made again under
the lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from helpdesk.contracts import identity
from helpdesk.contracts.agents import AgentAvailabilityChanged, QueueMembersChanged
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.people import UserDeactivated, UserReactivated
from helpdesk.contracts.subjects import events_of
from helpdesk.contracts.tickets import (
    AUTOMATIC,
    SERVICE,
    AssignmentPolicy,
    TicketPriorityChanged,
    TicketSubmitted,
    TicketUnassigned,
)
from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.projections import Projection
from helpdesk.tickets.adapters.agents import PostgresAgents
from helpdesk.tickets.adapters.repository import PostgresTickets
from helpdesk.tickets.domain.assignment import choose
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket

log = get_logger(__name__)

ASSIGNMENT_CONSUMER = "tickets-assignment"
DEACTIVATION_CONSUMER = "tickets-deactivations"
# Waiting tickets assigned per trigger (an agent back from leave, a new member);
# the rest wait for the next trigger or submission.
WAITING_BATCH = 200
# The events `Assigner.handle` acts on; the consumer acks the service's other events unhandled.
TRIGGERS = frozenset(
    {
        TicketSubmitted.event_type,
        TicketPriorityChanged.event_type,
        TicketUnassigned.event_type,
        AgentAvailabilityChanged.event_type,
        QueueMembersChanged.event_type,
    }
)


class Assigner:
    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        policy: RoutingPolicy,
        clock: Clock,
    ) -> None:
        self.store = store
        self.projections = projections
        self.policy = policy
        self.clock = clock

    def _repos(self, conn: Connection) -> tuple[PostgresTickets, PostgresAgents]:
        return (
            PostgresTickets(conn, self.store, self.projections),
            PostgresAgents(conn, self.store, self.projections),
        )

    async def handle(self, conn: Connection, envelope: EventEnvelope) -> None:
        """A ticket that may wait for an agent, or an agent who may take waiting tickets."""
        kind = envelope.event_type
        if kind == TicketSubmitted.event_type:
            submitted = envelope.open(TicketSubmitted)
            await self.assign(conn, submitted.queue, submitted.ticket_id, "submitted")
        elif kind == TicketPriorityChanged.event_type:
            changed = envelope.open(TicketPriorityChanged)
            await self.assign(conn, changed.queue, changed.ticket_id, "priority_changed")
        elif kind == TicketUnassigned.event_type:
            unassigned = envelope.open(TicketUnassigned)
            await self.assign(conn, unassigned.queue, unassigned.ticket_id, "unassigned")
        elif kind == AgentAvailabilityChanged.event_type:
            availability = envelope.open(AgentAvailabilityChanged)
            if availability.available:
                _, agents = self._repos(conn)
                queues = await agents.queues_of(availability.user_id)
                async with conn.transaction():
                    await self.assign_waiting(conn, queues, "agent_available")
        elif kind == QueueMembersChanged.event_type:
            changed_queue = envelope.open(QueueMembersChanged)
            if changed_queue.added:
                async with conn.transaction():
                    await self.assign_waiting(conn, [changed_queue.queue], "members_changed")

    async def assign(self, conn: Connection, queue: str, ticket_id: UUID, trigger: str) -> bool:
        """Give a ticket its event says is in `queue` to the agent the queue's policy
        chooses; False if it stays. Its candidates are read first, without a lock:
        with nobody available it waits (see the module's doc). Otherwise the ticket
        is read once, under the queue's lock; if it has moved to another queue
        since, the event of that move assigns it."""
        if self.policy.assignment(queue) is AssignmentPolicy.MANUAL:
            return False
        tickets, agents = self._repos(conn)
        if not any(c.available for c in await agents.candidates(queue)):
            log.info("nobody available; the ticket waits", ticket_id=str(ticket_id))
            return False
        async with conn.transaction():
            await agents.lock_queue(queue)
            return await self._assign_locked(tickets, agents, ticket_id, trigger, queue=queue)

    async def assign_waiting(self, conn: Connection, queues: Sequence[str], trigger: str) -> int:
        """The waiting tickets of `queues`, soonest due first, each by its queue's policy."""
        automatic = sorted(
            q for q in set(queues) if self.policy.assignment(q) is not AssignmentPolicy.MANUAL
        )
        if not automatic:
            return 0
        tickets, agents = self._repos(conn)
        for queue in automatic:  # always in name order: two triggers never deadlock
            await agents.lock_queue(queue)
        assigned = 0
        for ticket_id in await agents.waiting(automatic, WAITING_BATCH):
            if not await self._assign_locked(tickets, agents, ticket_id, trigger):
                break  # nobody available any more: the rest wait too
            assigned += 1
        return assigned

    async def _assign_locked(
        self,
        tickets: PostgresTickets,
        agents: PostgresAgents,
        ticket_id: UUID,
        trigger: str,
        *,
        queue: str | None = None,
    ) -> bool:
        """Under the queue's lock. Given the queue (a trigger event names it), its
        candidates are read first: with nobody available the ticket waits unread."""
        ticket: Ticket | None = None
        if queue is None:
            ticket = await tickets.get(ticket_id)
            queue = ticket.queue
        rule = self.policy.assignment(queue)
        choice = choose(rule, await agents.candidates(queue), trigger=trigger)
        if choice is None:
            log.info("nobody available; the ticket waits", ticket_id=str(ticket_id))
            return False
        if ticket is None:
            ticket = await tickets.get(ticket_id)  # fresh: read under the queue's lock
            if ticket.queue != queue:
                return False  # moved on: its move's event assigns it in its new queue
        if not ticket.waiting_for_assignment:
            return False
        now = self.clock.now()
        if not ticket.assign_automatically(
            choice.candidate.contact, choice.reason, policy=self.policy, now=now
        ):
            return False
        await tickets.save(ticket, by=AUTOMATIC)
        log.info(
            "ticket assigned automatically",
            ticket_id=str(ticket_id),
            assignee_id=str(choice.candidate.user_id),
            policy=rule.value,
            trigger=trigger,
            candidates=len(choice.reason.candidates),
        )
        return True

    # --- deactivation ---------------------------------------------------------------------

    async def on_user_status(self, conn: Connection, envelope: EventEnvelope) -> None:
        """Deactivated: inactive in the users projection and their open tickets back to
        their queues (the assignment consumer assigns them again); reactivated: active."""
        at = envelope.occurred_at
        if envelope.event_type == UserReactivated.event_type:
            reactivated = envelope.open(UserReactivated)
            await _set_active(conn, reactivated.user_id, True, at)
            return
        if envelope.event_type != UserDeactivated.event_type:
            return
        deactivated = envelope.open(UserDeactivated)
        tickets, agents = self._repos(conn)
        for queue in sorted(await agents.queues_of(deactivated.user_id)):
            await agents.lock_queue(queue)  # no assignment to them can slip in meanwhile
        if not await _set_active(conn, deactivated.user_id, False, at):
            return  # an older event than the status we hold
        for ticket_id in await agents.open_tickets_of(deactivated.user_id):
            ticket = await tickets.get(ticket_id)
            if ticket.unassign(by=deactivated.by or AUTOMATIC, reason="deactivated", now=at):
                await tickets.save(ticket, by=deactivated.by)


async def _set_active(conn: Connection, user_id: UUID, active: bool, at: object) -> bool:
    """Set the users projection's `active`, unless it holds a newer status already."""
    done = await conn.fetchval(
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


def consumers(assigner: Assigner) -> list[EventConsumer]:
    return [
        EventConsumer(
            name=ASSIGNMENT_CONSUMER,
            subject=events_of(SERVICE),
            handler=assigner.handle,
            handles=TRIGGERS,
            inbox=False,  # a trigger handled twice assigns nothing twice (see above)
        ),
        EventConsumer(
            name=DEACTIVATION_CONSUMER,
            # Every user event (a filter of its own, beside tickets-users' `>`).
            subject=f"{identity.SERVICE}.events.user.*",
            handler=assigner.on_user_status,
            handles=frozenset({UserDeactivated.event_type, UserReactivated.event_type}),
        ),
    ]

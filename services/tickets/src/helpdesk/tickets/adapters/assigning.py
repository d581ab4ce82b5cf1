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
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from helpdesk.contracts.agents import AgentAvailabilityChanged, QueueMembersChanged
from helpdesk.contracts.people import UserDeactivated, UserReactivated
from helpdesk.contracts.tickets import (
    AUTOMATIC,
    AssignmentPolicy,
    TicketPriorityChanged,
    TicketSubmitted,
    TicketUnassigned,
)
from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.events import Delivery, EventHandlers, on_events
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

    async def assign_waiting_of_agent(self, conn: Connection, agent_id: UUID) -> None:
        """The waiting tickets of the queues of an agent who became available."""
        _, agents = self._repos(conn)
        queues = await agents.queues_of(agent_id)
        async with conn.transaction():
            await self.assign_waiting(conn, queues, "agent_available")

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

    async def take_back_from(self, conn: Connection, user: UserDeactivated, at: datetime) -> None:
        """A deactivated user: inactive in the users projection, and their open
        tickets back to their queues (the assignment consumer assigns them again)."""
        tickets, agents = self._repos(conn)
        for queue in sorted(await agents.queues_of(user.user_id)):
            await agents.lock_queue(queue)  # no assignment to them can slip in meanwhile
        if not await _set_active(conn, user.user_id, False, at):
            return  # an older event than the status we hold
        for ticket_id in await agents.open_tickets_of(user.user_id):
            ticket = await tickets.get(ticket_id)
            if ticket.unassign(by=user.by or AUTOMATIC, reason="deactivated", now=at):
                await tickets.save(ticket, by=user.by)


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


@dataclass(frozen=True)
class AssignmentDeps:
    assigner: Assigner
    conn: Connection
    occurred_at: datetime


# --- what starts an assignment: a ticket that may wait for an agent, or an
# agent who may take waiting tickets. Handled twice, they assign nothing twice.


async def on_submitted(event: TicketSubmitted, deps: AssignmentDeps) -> None:
    await deps.assigner.assign(deps.conn, event.queue, event.ticket_id, "submitted")


async def on_priority_changed(event: TicketPriorityChanged, deps: AssignmentDeps) -> None:
    await deps.assigner.assign(deps.conn, event.queue, event.ticket_id, "priority_changed")


async def on_unassigned(event: TicketUnassigned, deps: AssignmentDeps) -> None:
    await deps.assigner.assign(deps.conn, event.queue, event.ticket_id, "unassigned")


async def on_availability_changed(event: AgentAvailabilityChanged, deps: AssignmentDeps) -> None:
    if event.available:
        await deps.assigner.assign_waiting_of_agent(deps.conn, event.user_id)


async def on_members_changed(event: QueueMembersChanged, deps: AssignmentDeps) -> None:
    if event.added:
        async with deps.conn.transaction():
            await deps.assigner.assign_waiting(deps.conn, [event.queue], "members_changed")


ASSIGNMENT_HANDLERS: EventHandlers[AssignmentDeps] = {
    TicketSubmitted: on_submitted,
    TicketPriorityChanged: on_priority_changed,
    TicketUnassigned: on_unassigned,
    AgentAvailabilityChanged: on_availability_changed,
    QueueMembersChanged: on_members_changed,
}


# --- a user's status, from identity


async def on_deactivated(event: UserDeactivated, deps: AssignmentDeps) -> None:
    await deps.assigner.take_back_from(deps.conn, event, deps.occurred_at)


async def on_reactivated(event: UserReactivated, deps: AssignmentDeps) -> None:
    await _set_active(deps.conn, event.user_id, True, deps.occurred_at)


DEACTIVATION_HANDLERS: EventHandlers[AssignmentDeps] = {
    UserDeactivated: on_deactivated,
    UserReactivated: on_reactivated,
}


def consumers(assigner: Assigner) -> list[EventConsumer]:
    def deps(delivery: Delivery) -> AssignmentDeps:
        return AssignmentDeps(assigner, delivery.conn, delivery.occurred_at)

    return [
        # A trigger handled twice assigns nothing twice (see the module's doc).
        on_events(ASSIGNMENT_CONSUMER, ASSIGNMENT_HANDLERS, deps, inbox=False),
        on_events(DEACTIVATION_CONSUMER, DEACTIVATION_HANDLERS, deps),
    ]

"""Automatic assignment: the event handlers that give waiting tickets to agents,
and that take tickets back from deactivated users (docs/assignment.md). They
work through `AssignmentDeps`, whose units of work run on the delivery's
connection; use-case tests pass the fakes of `tests/unit/tickets/fakes.py`.

Exactly once, with any number of replicas and redeliveries:

* the assignment is an event in the ticket's own stream, appended at the
  version the ticket was folded at: a concurrent writer makes the append fail
  and the transaction roll back and run again;
* the aggregate assigns only a ticket that still waits, so a second trigger for
  the same ticket (its submission, then an agent becoming available), or the
  same trigger redelivered, changes nothing. That is why the assignment
  consumer needs no inbox row (`inbox=False`, `bootstrap.py`): handling an event twice has the
  effect of handling it once;
* a transaction-scoped advisory lock per queue serialises the choices of one
  queue, so each sees the open counts the previous one left.

A ticket's trigger first reads its queue's candidates in a one-statement
unit, without the lock or a transaction: with nobody available (no members,
everyone away) the ticket waits, and that took one round trip instead of
four. Nothing is missed: the ticket was committed before its event was
published, so an agent who becomes available after that read triggers the
assignment of the waiting tickets, this one among them. With someone
available the choice is made again under the lock.
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
from helpdesk.servicekit.events import EventHandlers
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger
from helpdesk.tickets.domain.assignment import choose
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.deps import UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)

ASSIGNMENT_CONSUMER = "tickets-assignment"
DEACTIVATION_CONSUMER = "tickets-deactivations"
# Waiting tickets assigned per trigger (an agent back from leave, a new member);
# the rest wait for the next trigger or submission.
WAITING_BATCH = 200


@dataclass(frozen=True)
class AssignmentDeps:
    """What the assignment handlers need, per delivery."""

    uow: UnitOfWorkFactory  # units on the delivery's connection
    policy: RoutingPolicy
    clock: Clock
    occurred_at: datetime  # when the event happened (a status's "as of")


async def assign(
    deps: AssignmentDeps,
    queue: str,
    ticket_id: UUID,
    trigger: str,
    *,
    passed_over: UUID | None = None,
) -> bool:
    """Give a ticket its event says is in `queue` to the agent the queue's policy
    chooses; False if it stays. Its candidates are read first, without a lock:
    with nobody available it waits (see the module's doc). Otherwise the ticket
    is read once, under the queue's lock; if it has moved to another queue
    since, the event of that move assigns it. `passed_over` (whoever it was just
    taken from) is not a candidate."""
    if deps.policy.assignment(queue) is AssignmentPolicy.MANUAL:
        return False
    async with deps.uow(one_statement=True) as look:
        candidates = await look.agents.candidates(queue)
        if not any(c.available and c.user_id != passed_over for c in candidates):
            log.info("nobody available; the ticket waits", ticket_id=str(ticket_id))
            if candidates:  # members, all away: their admins are told (none set up: no news)
                await retry_on_conflict(lambda: _tell_admins(deps, queue, ticket_id))
            return False
    async with deps.uow() as uow:
        await uow.agents.lock_queue(queue)
        assigned = await _assign_locked(
            uow, deps, ticket_id, trigger, queue=queue, passed_over=passed_over
        )
        await uow.commit()
        return assigned


async def _tell_admins(deps: AssignmentDeps, queue: str, ticket_id: UUID) -> None:
    """The ticket waits for nobody: its queue's admins are told, once until it is
    assigned (the notice is an event in its stream, so a redelivered trigger or a
    second replica finds it there, or loses the append and finds it on the retry)."""
    async with deps.uow() as uow:
        ticket = await uow.tickets.get(ticket_id)
        if ticket.queue != queue or not ticket.waiting_for_assignment or ticket.admins_told:
            return
        admins = await uow.agents.admins_of(queue)
        if ticket.tell_admins_it_waits(admins, now=deps.clock.now()):
            await uow.tickets.save(ticket, by=AUTOMATIC)
            await uow.commit()
            log.info("nobody available; admins told", ticket_id=str(ticket_id), admins=len(admins))


async def assign_waiting(
    uow: UnitOfWork, deps: AssignmentDeps, queues: Sequence[str], trigger: str
) -> int:
    """The waiting tickets of `queues`, soonest due first, each by its queue's policy."""
    automatic = sorted(
        q for q in set(queues) if deps.policy.assignment(q) is not AssignmentPolicy.MANUAL
    )
    if not automatic:
        return 0
    for queue in automatic:  # always in name order: two triggers never deadlock
        await uow.agents.lock_queue(queue)
    assigned = 0
    for ticket_id in await uow.agents.waiting(automatic, WAITING_BATCH):
        if not await _assign_locked(uow, deps, ticket_id, trigger):
            break  # nobody available any more: the rest wait too
        assigned += 1
    return assigned


async def _assign_locked(
    uow: UnitOfWork,
    deps: AssignmentDeps,
    ticket_id: UUID,
    trigger: str,
    *,
    queue: str | None = None,
    passed_over: UUID | None = None,
) -> bool:
    """Under the queue's lock. Given the queue (a trigger event names it), its
    candidates are read first: with nobody available the ticket waits unread."""
    ticket: Ticket | None = None
    if queue is None:
        ticket = await uow.tickets.get(ticket_id)
        queue = ticket.queue
    rule = deps.policy.assignment(queue)
    candidates = [c for c in await uow.agents.candidates(queue) if c.user_id != passed_over]
    choice = choose(rule, candidates, trigger=trigger)
    if choice is None:
        log.info("nobody available; the ticket waits", ticket_id=str(ticket_id))
        return False
    if ticket is None:
        ticket = await uow.tickets.get(ticket_id)  # fresh: read under the queue's lock
        if ticket.queue != queue:
            return False  # moved on: its move's event assigns it in its new queue
    if not ticket.waiting_for_assignment:
        return False
    if not ticket.assign_automatically(
        choice.candidate.contact, choice.reason, policy=deps.policy, now=deps.clock.now()
    ):
        return False
    await uow.tickets.save(ticket, by=AUTOMATIC)
    log.info(
        "ticket assigned automatically",
        ticket_id=str(ticket_id),
        assignee_id=str(choice.candidate.user_id),
        policy=rule.value,
        trigger=trigger,
        candidates=len(choice.reason.candidates),
    )
    return True


# --- what starts an assignment: a ticket that may wait for an agent, or an
# agent who may take waiting tickets. Handled twice, they assign nothing twice.


async def on_submitted(event: TicketSubmitted, deps: AssignmentDeps) -> None:
    await assign(deps, event.queue, event.ticket_id, "submitted")


async def on_priority_changed(event: TicketPriorityChanged, deps: AssignmentDeps) -> None:
    await assign(deps, event.queue, event.ticket_id, "priority_changed")


async def on_unassigned(event: TicketUnassigned, deps: AssignmentDeps) -> None:
    """To someone else than the agent it was taken from (who is away, deactivated,
    or was deliberately taken off it)."""
    await assign(
        deps,
        event.queue,
        event.ticket_id,
        "unassigned",
        passed_over=event.previous_assignee.user_id,
    )


async def on_availability_changed(event: AgentAvailabilityChanged, deps: AssignmentDeps) -> None:
    if not event.available:
        return
    async with deps.uow() as uow:
        queues = await uow.agents.queues_of(event.user_id)
        await assign_waiting(uow, deps, queues, "agent_available")
        await uow.commit()


async def on_members_changed(event: QueueMembersChanged, deps: AssignmentDeps) -> None:
    if not event.added:
        return
    async with deps.uow() as uow:
        await assign_waiting(uow, deps, [event.queue], "members_changed")
        await uow.commit()


ASSIGNMENT_HANDLERS: EventHandlers[AssignmentDeps] = {
    TicketSubmitted: on_submitted,
    TicketPriorityChanged: on_priority_changed,
    TicketUnassigned: on_unassigned,
    AgentAvailabilityChanged: on_availability_changed,
    QueueMembersChanged: on_members_changed,
}


# --- a user's status, from identity


async def on_deactivated(event: UserDeactivated, deps: AssignmentDeps) -> None:
    """Inactive in the users projection, and their open tickets back to their
    queues (the assignment consumer assigns them again)."""
    at = deps.occurred_at
    async with deps.uow() as uow:
        for queue in sorted(await uow.agents.queues_of(event.user_id)):
            await uow.agents.lock_queue(queue)  # no assignment to them can slip in meanwhile
        if not await uow.users.set_active(event.user_id, False, at):
            return  # an older event than the status we hold
        for ticket_id in await uow.agents.open_tickets_of(event.user_id):
            ticket = await uow.tickets.get(ticket_id)
            if ticket.unassign(by=event.by or AUTOMATIC, reason="deactivated", now=at):
                await uow.tickets.save(ticket, by=event.by)
        await uow.commit()


async def on_reactivated(event: UserReactivated, deps: AssignmentDeps) -> None:
    async with deps.uow() as uow:
        await uow.users.set_active(event.user_id, True, deps.occurred_at)
        await uow.commit()


DEACTIVATION_HANDLERS: EventHandlers[AssignmentDeps] = {
    UserDeactivated: on_deactivated,
    UserReactivated: on_reactivated,
}

"""Assignment replay (`helpdesk assignment-replay`, issue 29): what a queue policy
would have done with the tickets that really came, beside what really happened.
Pure: the handler (`handlers/replay.py`) turns the stored events into the
`Happening`s below, in the order they were stored.

The rules, in order:

* Only tickets **submitted since** the start (and, with a queue, submitted to
  it) count, for both sides: each starts with no open tickets then.
* Each such ticket is given, when it arrives, to the member the policy chooses
  (`domain/assignment.choose`, the very function the service uses) among the
  queue's members as they were at that moment, available or away as they were;
  with nobody available it stays unassigned in the replay. Only the first
  assignment is replayed (a colleague's later reassignment is the agents' own
  business); a move to another queue is not followed.
* A replayed ticket counts as open work for its replayed assignee until it is
  really resolved or closed, and again when it is really reopened; the actual
  side counts the real assignees the same way (reassignments and unassigning
  included).
* "Received" is the tickets whose first assignment went to the agent.
* The open-load **spread** is max − min of the open tickets of the queue's
  members, taken as each ticket arrives (before it is given to anyone, so that
  both sides stand as they were: the real assignment comes after the
  submission); the report gives its mean and maximum, replayed and actual.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from helpdesk.contracts.tickets import AssignmentPolicy, Contact, TicketStatus
from helpdesk.tickets.domain.assignment import Candidate, choose

_OPEN_WORK = frozenset({TicketStatus.SUBMITTED, TicketStatus.OPEN, TicketStatus.PENDING})


@dataclass(frozen=True)
class _ToTicket:
    """What happened to one ticket, and when."""

    at: datetime
    ticket_id: UUID


@dataclass(frozen=True)
class Arrival(_ToTicket):
    queue: str


@dataclass(frozen=True)
class Assignment(_ToTicket):
    assignee_id: UUID


@dataclass(frozen=True)
class Unassignment(_ToTicket):
    """Its assignee was taken off."""


@dataclass(frozen=True)
class StatusIs(_ToTicket):
    """The ticket's status after an event (a status change, or a message that moved it)."""

    status: TicketStatus


@dataclass(frozen=True)
class Members:
    at: datetime
    queue: str
    members: tuple[UUID, ...]


@dataclass(frozen=True)
class Availability:
    at: datetime
    user_id: UUID
    available: bool


Happening = Arrival | Assignment | Unassignment | StatusIs | Members | Availability


@dataclass
class AgentFigures:
    replayed: int = 0  # tickets the policy would have given them
    actual: int = 0  # tickets whose first assignment was theirs
    replayed_peak_open: int = 0
    actual_peak_open: int = 0


@dataclass
class ReplayResult:
    tickets: int = 0
    unassigned: int = 0  # arrivals the policy found nobody available for
    agents: dict[UUID, AgentFigures] = field(default_factory=dict)
    replayed_spreads: list[int] = field(default_factory=list)
    actual_spreads: list[int] = field(default_factory=list)

    def figures(self, user_id: UUID) -> AgentFigures:
        return self.agents.setdefault(user_id, AgentFigures())


@dataclass
class _Side:
    """One side's open work: who has each counted ticket, and their open counts."""

    holder: dict[UUID, UUID] = field(default_factory=dict)
    open: dict[UUID, int] = field(default_factory=lambda: defaultdict(int))

    def give(self, ticket_id: UUID, user_id: UUID | None, *, working: bool) -> None:
        previous = self.holder.pop(ticket_id, None)
        if previous is not None and working:
            self.open[previous] -= 1
        if user_id is not None:
            self.holder[ticket_id] = user_id
            if working:
                self.open[user_id] += 1

    def working(self, ticket_id: UUID, delta: int) -> None:
        if (user_id := self.holder.get(ticket_id)) is not None:
            self.open[user_id] += delta

    def spread(self, users: Iterable[UUID]) -> int:
        loads = [self.open[u] for u in users]
        return max(loads) - min(loads) if loads else 0


@dataclass
class _Queue:
    members: dict[UUID, datetime] = field(default_factory=dict)  # user -> member since


def replay(
    happenings: Iterable[Happening],
    policy: AssignmentPolicy,
    *,
    since: datetime,
    queue: str | None = None,
) -> ReplayResult:
    """Run `policy` over the happenings (oldest first); see the module's rules."""
    result = ReplayResult()
    queues: dict[str, _Queue] = defaultdict(_Queue)
    away: set[UUID] = set()
    counted: set[UUID] = set()  # tickets of the period (and queue)
    first_assigned: set[UUID] = set()
    in_work: set[UUID] = set()
    replayed, actual = _Side(), _Side()
    last_any: dict[UUID, datetime] = {}
    last_from: dict[tuple[str, UUID], datetime] = {}

    for happening in happenings:
        match happening:
            case Members(at=at, queue=name, members=ids):
                now = queues[name].members
                queues[name].members = {u: now.get(u, at) for u in ids}
            case Availability(user_id=user_id, available=available):
                (away.discard if available else away.add)(user_id)
            case Arrival(at=at, ticket_id=ticket_id, queue=name):
                if at < since or (queue is not None and name != queue):
                    continue
                members = queues[name].members
                if result.tickets:
                    result.replayed_spreads.append(replayed.spread(members))
                    result.actual_spreads.append(actual.spread(members))
                counted.add(ticket_id)
                in_work.add(ticket_id)
                result.tickets += 1
                candidates = [
                    Candidate(
                        contact=Contact(user_id=u),
                        available=u not in away,
                        open_tickets=replayed.open[u],
                        last_assigned_at=last_any.get(u),
                        last_from_queue_at=last_from.get((name, u)),
                        member_since=joined,
                    )
                    for u, joined in sorted(members.items(), key=lambda m: (m[1], str(m[0])))
                ]
                choice = choose(policy, candidates, trigger="replay")
                if choice is None:
                    result.unassigned += 1
                else:
                    chosen = choice.candidate.user_id
                    replayed.give(ticket_id, chosen, working=True)
                    last_any[chosen] = at
                    last_from[(name, chosen)] = at
                    result.figures(chosen).replayed += 1
                for u in members:
                    result.figures(u)  # every member has a row, received or not
            case Assignment(ticket_id=ticket_id, assignee_id=assignee_id):
                if ticket_id not in counted:
                    continue
                actual.give(ticket_id, assignee_id, working=ticket_id in in_work)
                if ticket_id not in first_assigned:
                    first_assigned.add(ticket_id)
                    result.figures(assignee_id).actual += 1
            case Unassignment(ticket_id=ticket_id):
                if ticket_id in counted:
                    actual.give(ticket_id, None, working=ticket_id in in_work)
            case StatusIs(ticket_id=ticket_id, status=status):
                if ticket_id not in counted:
                    continue
                working = status in _OPEN_WORK
                if working != (ticket_id in in_work):
                    delta = 1 if working else -1
                    (in_work.add if working else in_work.discard)(ticket_id)
                    replayed.working(ticket_id, delta)
                    actual.working(ticket_id, delta)
        for user_id, figures in result.agents.items():
            figures.replayed_peak_open = max(figures.replayed_peak_open, replayed.open[user_id])
            figures.actual_peak_open = max(figures.actual_peak_open, actual.open[user_id])
    return result

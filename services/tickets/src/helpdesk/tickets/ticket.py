"""The Ticket aggregate: a support request folded from its events.

Pure: no I/O. Command methods check the rules, then record one event whose
`_apply` is the only place state changes; loading a ticket replays the same
`_apply` over the stored events. Time comes in as `now`, SLA rules as the
routing policy; due times computed at a command travel in the event.

Lifecycle: submitted -> open -> pending (waiting on the requester) ->
resolved -> closed, with reopen (resolved -> open). The resolution clock runs
only while submitted or open; the first-response clock stops at the first
public agent reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    TICKET_EVENTS,
    Category,
    Contact,
    SlaSchedule,
    SlaTarget,
    TicketAssigned,
    TicketEscalated,
    TicketEvent,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketStatus,
    TicketStatusChanged,
    TicketSubmitted,
)
from helpdesk.tickets.routing import RoutingPolicy

S = TicketStatus

# The resolution clock runs in these statuses only.
RUNNING = frozenset({S.SUBMITTED, S.OPEN})

# What an agent may set, from each status.
AGENT_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.SUBMITTED: frozenset({S.OPEN, S.PENDING, S.RESOLVED}),
    S.OPEN: frozenset({S.PENDING, S.RESOLVED}),
    S.PENDING: frozenset({S.OPEN, S.RESOLVED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
# The requester may close at any time, and reopen what was resolved.
REQUESTER_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.SUBMITTED: frozenset({S.CLOSED}),
    S.OPEN: frozenset({S.CLOSED}),
    S.PENDING: frozenset({S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}

_RANK = {p: i for i, p in enumerate(Priority)}

EVENT_TYPES: dict[str, type[TicketEvent]] = {cls.event_type: cls for cls in TICKET_EVENTS}


class TicketError(Exception):
    code = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TicketNotFound(TicketError):
    code = "not_found"


class Forbidden(TicketError):
    code = "forbidden"


class InvalidTransition(TicketError):
    code = "invalid_transition"


class TicketClosed(TicketError):
    code = "ticket_closed"


class AlreadyAssigned(TicketError):
    code = "already_assigned"


class InvalidAssignee(TicketError):
    code = "validation_error"


@dataclass(frozen=True)
class Caller:
    """Who acts on the ticket, as the aggregate needs to know them."""

    contact: Contact
    is_agent: bool

    @property
    def user_id(self) -> UUID:
        return self.contact.user_id


@dataclass
class Ticket:
    ticket_id: UUID
    version: int = 0
    number: str = ""
    requester: Contact | None = None
    subject: str = ""
    description: str = ""
    priority: Priority = Priority.NORMAL
    category: Category | None = None
    queue: str = ""
    status: TicketStatus = S.SUBMITTED
    assignee: Contact | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    first_responded_at: datetime | None = None
    acknowledged: bool = False
    sla: SlaSchedule = field(default_factory=SlaSchedule)
    # Intervals during which the resolution clock ran ([start, end), end None = running).
    running: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    # ("warning" | "breach", target) and ("escalation", "") already emitted.
    fired: set[tuple[str, str]] = field(default_factory=set)
    history: list[TicketEvent] = field(default_factory=list)
    pending: list[TicketEvent] = field(default_factory=list)

    # --- folding ---------------------------------------------------------------------------

    @classmethod
    def fold(cls, ticket_id: UUID, events: list[tuple[str, dict[str, Any]]]) -> Ticket:
        """Rebuild from stored (event_type, data) pairs, oldest first."""
        ticket = cls(ticket_id)
        for event_type, data in events:
            ticket._apply(EVENT_TYPES[event_type].model_validate(data))
            ticket.version += 1
        return ticket

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self.pending)

    def _record(self, event: TicketEvent) -> TicketEvent:
        self._apply(event)
        self.pending.append(event)
        return event

    def _apply(self, event: TicketEvent) -> None:
        self.history.append(event)
        self.updated_at = event.at
        if isinstance(event, TicketSubmitted):
            self.number = event.number
            self.requester = event.requester
            self.subject = event.subject_line
            self.description = event.description
            self.priority = event.priority
            self.category = event.category
            self.queue = event.queue
            self.status = S.SUBMITTED
            self.created_at = event.at
            self.running = [(event.at, None)]
            self.sla = event.sla
        elif isinstance(event, TicketMessageAdded):
            if event.first_response:
                self.first_responded_at = event.at
            if event.by_agent and not event.internal:
                self.acknowledged = True
            self._enter(event.status, event.at)
            self.sla = event.sla
        elif isinstance(event, TicketStatusChanged):
            self._enter(event.to_status, event.at)
            self.sla = event.sla
        elif isinstance(event, TicketPriorityChanged):
            self.priority = event.priority
            self.queue = event.queue
            self.sla = event.sla
        elif isinstance(event, TicketAssigned):
            self.assignee = event.assignee
            self.acknowledged = True
            self._enter(event.status, event.at)
            self.sla = event.sla
        elif isinstance(event, TicketSlaWarning):
            self.fired.add(("warning", event.target.value))
        elif isinstance(event, TicketSlaBreached):
            self.fired.add(("breach", event.target.value))
            self.fired.add(("warning", event.target.value))
        elif isinstance(event, TicketEscalated):
            self.fired.add(("escalation", ""))

    def _enter(self, status: TicketStatus, at: datetime) -> None:
        self.running = running_after(self.running, self.status, status, at)
        self.status = status

    # --- commands --------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        ticket_id: UUID,
        number: str,
        requester: Contact,
        subject: str,
        description: str,
        priority: Priority,
        category: Category | None,
        policy: RoutingPolicy,
        now: datetime,
    ) -> Ticket:
        ticket = cls(ticket_id)
        route = policy.route(priority)
        sla = schedule(
            policy,
            priority=priority,
            created_at=now,
            status=S.SUBMITTED,
            running=[(now, None)],
            first_responded=False,
            acknowledged=False,
            fired=set(),
        )
        ticket._record(
            TicketSubmitted(
                ticket_id=ticket_id,
                number=number,
                at=now,
                requester=requester,
                subject_line=subject,
                description=description,
                priority=priority,
                category=category,
                queue=route.queue,
                clock=route.clock,
                page=route.page,
                first_response_due=sla.first_response_due,
                resolution_due=sla.resolution_due,
                sla=sla,
            )
        )
        return ticket

    def ensure_visible_to(self, caller: Caller) -> None:
        """Customers see their own tickets only; anything else does not exist for them."""
        if not self.exists:
            raise TicketNotFound("no such ticket")
        own = self.requester is not None and caller.user_id == self.requester.user_id
        if not caller.is_agent and not own:
            raise TicketNotFound("no such ticket")

    def _ensure_agent(self, caller: Caller, what: str) -> None:
        self.ensure_visible_to(caller)
        if not caller.is_agent:
            raise Forbidden(f"only agents may {what}")

    def _ensure_not_closed(self) -> None:
        if self.status is S.CLOSED:
            raise TicketClosed(f"ticket {self.number} is closed")

    def add_message(
        self, caller: Caller, *, body: str, internal: bool, policy: RoutingPolicy, now: datetime
    ) -> TicketMessageAdded:
        self.ensure_visible_to(caller)
        if internal and not caller.is_agent:
            raise Forbidden("only agents may add internal notes")
        self._ensure_not_closed()
        status = self.status
        first_response = False
        if caller.is_agent and not internal:
            first_response = self.first_responded_at is None
            if status is S.SUBMITTED:
                status = S.OPEN
        elif not caller.is_agent and status in (S.PENDING, S.RESOLVED):
            status = S.OPEN  # the requester answered, or reopened by replying
        sla = self._schedule_after(
            policy,
            status=status,
            at=now,
            first_responded=first_response or None,
            acknowledged=True if caller.is_agent and not internal else None,
        )
        event = TicketMessageAdded(
            ticket_id=self.ticket_id,
            number=self.number,
            at=now,
            message_id=uuid4(),
            author=caller.contact,
            by_agent=caller.is_agent,
            body=body,
            internal=internal,
            requester=self._requester,
            assignee=self.assignee,
            first_response=first_response,
            status=status,
            sla=sla,
        )
        self._record(event)
        return event

    def change_status(
        self, caller: Caller, status: TicketStatus, *, policy: RoutingPolicy, now: datetime
    ) -> TicketStatusChanged:
        self.ensure_visible_to(caller)
        allowed = (AGENT_TRANSITIONS if caller.is_agent else REQUESTER_TRANSITIONS)[self.status]
        if status not in allowed:
            if self.status is S.CLOSED:
                raise TicketClosed(f"ticket {self.number} is closed")
            if not caller.is_agent and status not in (S.CLOSED, S.OPEN):
                raise Forbidden("customers may only close a ticket or reopen a resolved one")
            raise InvalidTransition(f"a {self.status.value} ticket cannot become {status.value}")
        sla = self._schedule_after(policy, status=status, at=now)
        event = TicketStatusChanged(
            ticket_id=self.ticket_id,
            number=self.number,
            at=now,
            by=caller.user_id,
            by_agent=caller.is_agent,
            from_status=self.status,
            to_status=status,
            requester=self._requester,
            subject_line=self.subject,
            sla=sla,
        )
        self._record(event)
        return event

    def change_priority(
        self, caller: Caller, priority: Priority, *, policy: RoutingPolicy, now: datetime
    ) -> TicketPriorityChanged | None:
        """Re-route and recompute the due times from submission; None if unchanged."""
        self._ensure_agent(caller, "change the priority")
        self._ensure_not_closed()
        if priority is self.priority:
            return None
        route = policy.route(priority)
        raised = _RANK[priority] > _RANK[self.priority]
        sla = self._schedule_after(policy, status=self.status, at=now, priority=priority)
        event = TicketPriorityChanged(
            ticket_id=self.ticket_id,
            number=self.number,
            at=now,
            by=caller.user_id,
            from_priority=self.priority,
            priority=priority,
            queue=route.queue,
            clock=route.clock,
            page=route.page and raised,
            subject_line=self.subject,
            requester=self._requester,
            first_response_due=sla.first_response_due,
            resolution_due=sla.resolution_due,
            sla=sla,
        )
        self._record(event)
        return event

    def assign(
        self,
        caller: Caller,
        assignee: Contact,
        *,
        reassign: bool,
        policy: RoutingPolicy,
        now: datetime,
    ) -> TicketAssigned | None:
        """None when it is already assigned to `assignee` (an idempotent repeat)."""
        self._ensure_agent(caller, "assign tickets")
        self._ensure_not_closed()
        current = self.assignee
        if current is not None and current.user_id == assignee.user_id:
            return None
        if current is not None and not reassign:
            raise AlreadyAssigned(
                f"ticket {self.number} is already assigned to {current.name or current.user_id}"
            )
        status = S.OPEN if self.status is S.SUBMITTED else self.status
        sla = self._schedule_after(policy, status=status, at=now, acknowledged=True)
        event = TicketAssigned(
            ticket_id=self.ticket_id,
            number=self.number,
            at=now,
            by=caller.user_id,
            assignee=assignee,
            previous_assignee_id=current.user_id if current else None,
            status=status,
            sla=sla,
        )
        self._record(event)
        return event

    def check_sla(self, now: datetime) -> list[TicketEvent]:
        """The SLA warnings, breaches and escalation due by `now` and not yet emitted."""
        due: list[TicketEvent] = []
        common: dict[str, Any] = {
            "ticket_id": self.ticket_id,
            "number": self.number,
            "at": now,
            "priority": self.priority,
            "queue": self.queue,
            "subject_line": self.subject,
        }
        targets = (
            (
                SlaTarget.FIRST_RESPONSE,
                self.sla.first_response_warning_at,
                self.sla.first_response_due,
            ),
            (SlaTarget.RESOLUTION, self.sla.resolution_warning_at, self.sla.resolution_due),
        )
        for target, warning_at, due_at in targets:
            if due_at is None:
                continue
            if due_at <= now and ("breach", target.value) not in self.fired:
                due.append(
                    TicketSlaBreached(
                        target=target, due_at=due_at, assignee=self.assignee, **common
                    )
                )
            elif (
                warning_at is not None
                and warning_at <= now
                and ("warning", target.value) not in self.fired
            ):
                due.append(
                    TicketSlaWarning(target=target, due_at=due_at, assignee=self.assignee, **common)
                )
        escalate_at = self.sla.escalate_at
        if (
            escalate_at is not None
            and escalate_at <= now
            and not self.acknowledged
            and ("escalation", "") not in self.fired
            and self.created_at is not None
        ):
            due.append(TicketEscalated(submitted_at=self.created_at, **common))
        for event in due:
            self._record(event)
        return due

    # --- helpers ---------------------------------------------------------------------------

    @property
    def _requester(self) -> Contact:
        assert self.requester is not None
        return self.requester

    def _schedule_after(
        self,
        policy: RoutingPolicy,
        *,
        status: TicketStatus,
        at: datetime,
        priority: Priority | None = None,
        first_responded: bool | None = None,
        acknowledged: bool | None = None,
    ) -> SlaSchedule:
        assert self.created_at is not None
        return schedule(
            policy,
            priority=priority or self.priority,
            created_at=self.created_at,
            status=status,
            running=running_after(self.running, self.status, status, at),
            first_responded=first_responded or self.first_responded_at is not None,
            acknowledged=acknowledged or self.acknowledged,
            fired=self.fired,
        )


def running_after(
    running: list[tuple[datetime, datetime | None]],
    old: TicketStatus,
    new: TicketStatus,
    at: datetime,
) -> list[tuple[datetime, datetime | None]]:
    """The resolution clock's running intervals after moving from `old` to `new` at `at`."""
    intervals = list(running)
    if old in RUNNING and new not in RUNNING and intervals and intervals[-1][1] is None:
        intervals[-1] = (intervals[-1][0], at)
    elif old not in RUNNING and new in RUNNING:
        intervals.append((at, None))
    return intervals


def schedule(
    policy: RoutingPolicy,
    *,
    priority: Priority,
    created_at: datetime,
    status: TicketStatus,
    running: list[tuple[datetime, datetime | None]],
    first_responded: bool,
    acknowledged: bool,
    fired: set[tuple[str, str]],
) -> SlaSchedule:
    """The SLA deadlines of a ticket in this state under the policy's targets for `priority`.

    First response counts from submission and stops at the first public agent
    reply (or when the ticket is resolved or closed without one). Resolution
    counts only the intervals the ticket spent submitted or open, so time
    spent pending (or resolved, before a reopen) is not charged.
    """
    calendar = policy.calendar(priority)
    targets = policy.targets(priority)
    warn = policy.warning_at
    done = status in (S.RESOLVED, S.CLOSED)

    fr_due = fr_warn = None
    if not first_responded and not done:
        fr_due = calendar.add(created_at, targets.first_response)
        if ("warning", SlaTarget.FIRST_RESPONSE.value) not in fired:
            fr_warn = calendar.add(created_at, targets.first_response * warn)

    res_due = res_warn = None
    if status in RUNNING and running and running[-1][1] is None:
        started = running[-1][0]
        spent = sum(calendar.elapsed(s, e) for s, e in running[:-1] if e is not None)
        res_due = calendar.add(started, targets.resolution - spent)
        if ("warning", SlaTarget.RESOLUTION.value) not in fired:
            res_warn = calendar.add(started, max(0.0, targets.resolution * warn - spent))

    escalate_at = None
    if targets.escalate_after is not None and not acknowledged and not done:
        escalate_at = calendar.add(created_at, targets.escalate_after)

    return SlaSchedule(
        first_response_due=fr_due,
        first_response_warning_at=fr_warn,
        resolution_due=res_due,
        resolution_warning_at=res_warn,
        escalate_at=escalate_at,
    )

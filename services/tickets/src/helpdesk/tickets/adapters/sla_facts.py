"""SLA facts of a ticket after each of its events: the row the `ticket_history`
projection keeps per event (adapters/history.py), computed here without I/O.

A row is the ticket as it stood from its event until the next one (what the
`as_of` queue shows) plus what the reports count: when the first public agent
reply came and how many SLA minutes it took, when the ticket was resolved and
how many SLA minutes the resolution clock ran (pending pauses it), the
targets, breaches and escalation. SLA minutes are measured with the routing
policy's calendar for the ticket's clock — the SLA clock's own calendar
(business hours with Greek holidays, or 24/7) — and targets come from the
policy too (docs/reports.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from helpdesk.contracts import tickets as contract
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import SlaClock, SlaTarget, TicketStatus
from helpdesk.tickets.domain.calendar import AlwaysCalendar, SlaCalendar
from helpdesk.tickets.domain.routing import RoutingPolicy

S = TicketStatus
RUNNING = frozenset({S.SUBMITTED, S.OPEN})
DONE = frozenset({S.RESOLVED, S.CLOSED})
UNRESOLVED = (S.SUBMITTED.value, S.OPEN.value, S.PENDING.value)


@dataclass(frozen=True)
class Facts:
    ticket_id: UUID
    version: int
    valid_from: datetime
    event_type: str
    target: str | None
    number: str
    subject: str
    requester_id: UUID
    requester_name: str | None
    status: str
    priority: str
    category: str | None
    queue: str
    assignee_id: UUID | None
    assignee_name: str | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    next_due: datetime | None
    created_at: datetime
    updated_at: datetime
    clock: str
    fr_target_minutes: float
    res_target_minutes: float
    first_response_at: datetime | None = None
    first_response_minutes: float | None = None
    resolved_at: datetime | None = None
    resolution_minutes: float | None = None
    running_since: datetime | None = None
    spent_minutes: float = 0.0
    fr_breached_at: datetime | None = None
    res_breached_at: datetime | None = None
    escalated_at: datetime | None = None
    reopens: int = 0
    rating: int | None = None  # this row's event is the requester's rating


def calendar_of(policy: RoutingPolicy, clock: str) -> SlaCalendar:
    if clock == SlaClock.BUSINESS_HOURS.value:
        return policy.business_calendar
    return AlwaysCalendar()


def _with_targets(facts: Facts, policy: RoutingPolicy) -> Facts:
    targets = policy.targets(Priority(facts.priority))
    return replace(
        facts,
        fr_target_minutes=targets.first_response / 60,
        res_target_minutes=targets.resolution / 60,
    )


def _with_due(facts: Facts, sla: contract.SlaSchedule) -> Facts:
    dues = [d for d in (sla.first_response_due, sla.resolution_due) if d is not None]
    return replace(
        facts,
        first_response_due=sla.first_response_due,
        resolution_due=sla.resolution_due,
        next_due=min(dues) if dues else None,
    )


def first_facts(event: contract.TicketSubmitted, version: int, policy: RoutingPolicy) -> Facts:
    facts = Facts(
        ticket_id=event.ticket_id,
        version=version,
        valid_from=event.at,
        event_type=event.event_type,
        target=None,
        number=event.number,
        subject=event.subject_line,
        requester_id=event.requester.user_id,
        requester_name=event.requester.name,
        status=S.SUBMITTED.value,
        priority=event.priority.value,
        category=event.category.value if event.category else None,
        queue=event.queue,
        assignee_id=None,
        assignee_name=None,
        created_at=event.at,
        updated_at=event.at,
        clock=event.clock.value,
        running_since=event.at,
        first_response_due=None,
        resolution_due=None,
        next_due=None,
        fr_target_minutes=0.0,
        res_target_minutes=0.0,
    )
    return _with_due(_with_targets(facts, policy), event.sla)


def next_facts(
    before: Facts, event: contract.TicketEvent, version: int, policy: RoutingPolicy
) -> Facts:
    """The facts after `event`, which followed the state `before`."""
    at = event.at
    facts = replace(
        before,
        version=version,
        valid_from=at,
        event_type=event.event_type,
        target=None,
        updated_at=at,
        rating=event.rating if isinstance(event, contract.TicketRated) else None,
    )
    sla: contract.SlaSchedule | None = getattr(event, "sla", None)
    if sla is not None:
        facts = _with_due(facts, sla)
    calendar = calendar_of(policy, facts.clock)
    if isinstance(event, contract.TicketMessageAdded):
        if event.first_response and facts.first_response_at is None:
            minutes = calendar.elapsed(facts.created_at, at) / 60
            facts = replace(facts, first_response_at=at, first_response_minutes=minutes)
        facts = _enter(facts, event.status, at, calendar)
    elif isinstance(event, contract.TicketStatusChanged):
        facts = _enter(facts, event.to_status, at, calendar)
    elif isinstance(event, contract.TicketAssigned):
        facts = replace(
            facts, assignee_id=event.assignee.user_id, assignee_name=event.assignee.name
        )
        facts = _enter(facts, event.status, at, calendar)
    elif isinstance(event, contract.TicketPriorityChanged):
        facts = replace(
            facts, priority=event.priority.value, queue=event.queue, clock=event.clock.value
        )
        facts = _with_targets(facts, policy)
    elif isinstance(event, contract.TicketSlaBreached):
        facts = replace(facts, target=event.target.value)
        if event.target is SlaTarget.FIRST_RESPONSE and facts.fr_breached_at is None:
            facts = replace(facts, fr_breached_at=at)
        elif event.target is SlaTarget.RESOLUTION and facts.res_breached_at is None:
            facts = replace(facts, res_breached_at=at)
    elif isinstance(event, contract.TicketSlaWarning):
        facts = replace(facts, target=event.target.value)
    elif isinstance(event, contract.TicketEscalated) and facts.escalated_at is None:
        facts = replace(facts, escalated_at=at)
    return facts


def _enter(facts: Facts, new: TicketStatus, at: datetime, calendar: SlaCalendar) -> Facts:
    """Move to `new` at `at`: stop or start the resolution clock, settle or reopen."""
    old = S(facts.status)
    if old in RUNNING and new not in RUNNING and facts.running_since is not None:
        spent = facts.spent_minutes + calendar.elapsed(facts.running_since, at) / 60
        facts = replace(facts, spent_minutes=spent, running_since=None)
    elif old not in RUNNING and new in RUNNING:
        facts = replace(facts, running_since=at)
    if new in DONE and old not in DONE:
        facts = replace(facts, resolved_at=at, resolution_minutes=facts.spent_minutes)
    elif old in DONE and new not in DONE:
        facts = replace(facts, resolved_at=None, resolution_minutes=None, reopens=facts.reopens + 1)
    return replace(facts, status=new.value)

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

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
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
    step = STEPS.get(type(event))
    return facts if step is None else step(facts, event, policy)


def _replied(facts: Facts, event: contract.TicketMessageAdded, policy: RoutingPolicy) -> Facts:
    calendar = calendar_of(policy, facts.clock)
    if event.first_response and facts.first_response_at is None:
        minutes = calendar.elapsed(facts.created_at, event.at) / 60
        facts = replace(facts, first_response_at=event.at, first_response_minutes=minutes)
    return _enter(facts, event.status, event.at, calendar)


def _moved(facts: Facts, event: contract.TicketStatusChanged, policy: RoutingPolicy) -> Facts:
    return _enter(facts, event.to_status, event.at, calendar_of(policy, facts.clock))


def _assigned(facts: Facts, event: contract.TicketAssigned, policy: RoutingPolicy) -> Facts:
    facts = replace(facts, assignee_id=event.assignee.user_id, assignee_name=event.assignee.name)
    return _enter(facts, event.status, event.at, calendar_of(policy, facts.clock))


def _reprioritised(
    facts: Facts, event: contract.TicketPriorityChanged, policy: RoutingPolicy
) -> Facts:
    priority, clock = event.priority.value, event.clock.value
    return _with_targets(replace(facts, priority=priority, queue=event.queue, clock=clock), policy)


def _breached(facts: Facts, event: contract.TicketSlaBreached, policy: RoutingPolicy) -> Facts:
    facts = replace(facts, target=event.target.value)
    if event.target is SlaTarget.FIRST_RESPONSE and facts.fr_breached_at is None:
        return replace(facts, fr_breached_at=event.at)
    if event.target is SlaTarget.RESOLUTION and facts.res_breached_at is None:
        return replace(facts, res_breached_at=event.at)
    return facts


def _warned(facts: Facts, event: contract.TicketSlaWarning, policy: RoutingPolicy) -> Facts:
    return replace(facts, target=event.target.value)


def _escalated(facts: Facts, event: contract.TicketEscalated, policy: RoutingPolicy) -> Facts:
    return facts if facts.escalated_at is not None else replace(facts, escalated_at=event.at)


# What each event changes of the facts beyond its version, time and SLA schedule.
STEPS: dict[type[contract.TicketEvent], Callable[[Facts, Any, RoutingPolicy], Facts]] = {
    contract.TicketMessageAdded: _replied,
    contract.TicketStatusChanged: _moved,
    contract.TicketAssigned: _assigned,
    contract.TicketPriorityChanged: _reprioritised,
    contract.TicketSlaBreached: _breached,
    contract.TicketSlaWarning: _warned,
    contract.TicketEscalated: _escalated,
}


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

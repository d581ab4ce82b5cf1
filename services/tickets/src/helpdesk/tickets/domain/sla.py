"""The SLA schedule of a ticket: when its first response and resolution are due,
when to warn, when to escalate — computed from its state and the routing policy.

First response counts from submission and stops at the first public agent
reply (or when the ticket is resolved or closed without one). Resolution
counts only the intervals the ticket spent submitted or open, so time spent
pending (or resolved, before a reopen) is not charged.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import SlaSchedule, SlaTarget, TicketStatus
from helpdesk.tickets.domain.events import Escalated, SlaAlarm, SlaBreached, SlaWarningIssued
from helpdesk.tickets.domain.routing import RoutingPolicy

S = TicketStatus

# The resolution clock runs in these statuses only.
RUNNING = frozenset({S.SUBMITTED, S.OPEN})

# [start, end) intervals during which the resolution clock ran (end None: running).
Intervals = list[tuple[datetime, datetime | None]]
# ("warning" | "breach", target) and ("escalation", "") already emitted.
Fired = set[tuple[str, str]]


def running_after(
    running: Intervals, old: TicketStatus, new: TicketStatus, at: datetime
) -> Intervals:
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
    running: Intervals,
    first_responded: bool,
    acknowledged: bool,
    fired: Fired,
    resolved_at: datetime | None = None,
) -> SlaSchedule:
    """The SLA deadlines of a ticket in this state under the policy's targets for `priority`
    (and, resolved since `resolved_at`, when it closes by itself)."""
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

    auto_close_at = None
    if status is S.RESOLVED and resolved_at is not None:
        auto_close_at = policy.auto_close_at(resolved_at)

    return SlaSchedule(
        first_response_due=fr_due,
        first_response_warning_at=fr_warn,
        resolution_due=res_due,
        resolution_warning_at=res_warn,
        escalate_at=escalate_at,
        auto_close_at=auto_close_at,
    )


def alarms_due(
    sla: SlaSchedule, *, fired: Fired, acknowledged: bool, now: datetime
) -> list[SlaAlarm]:
    """The warnings, breaches and escalation due by `now` and not yet emitted.

    A breach found already due is not preceded by its stale warning.
    """
    due: list[SlaAlarm] = []
    targets = (
        (SlaTarget.FIRST_RESPONSE, sla.first_response_warning_at, sla.first_response_due),
        (SlaTarget.RESOLUTION, sla.resolution_warning_at, sla.resolution_due),
    )
    for target, warning_at, due_at in targets:
        if due_at is None:
            continue
        if due_at <= now and ("breach", target.value) not in fired:
            due.append(SlaBreached(at=now, target=target, due_at=due_at))
        elif (
            warning_at is not None and warning_at <= now and ("warning", target.value) not in fired
        ):
            due.append(SlaWarningIssued(at=now, target=target, due_at=due_at))
    escalate_at = sla.escalate_at
    if (
        escalate_at is not None
        and escalate_at <= now
        and not acknowledged
        and ("escalation", "") not in fired
    ):
        due.append(Escalated(at=now))
    return due

"""What the replies show of a ticket: its summary, and its detail with the timeline.

Pure functions of the aggregate, so they live beside the use cases (not in
`adapters/`): the commands answer with `summary_of` the ticket they just
changed, `get` with `detail_of` the ticket it folded. Lists come from the
read model instead (`adapters/read_model.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from helpdesk.contracts.tickets import (
    AUTOMATIC,
    Contact,
    Person,
    SlaClock,
    TicketDetail,
    TicketStatus,
    TicketSummary,
    TimelineEntry,
)
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.domain.lifecycle import allowed_moves
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.attachment_views import attachment_entry

# The timeline's `kind` of each event: part of the REST contract, named as the
# published event types are (a test checks they agree).
TIMELINE_KIND: dict[type[e.TicketEvent], str] = {
    e.Submitted: "TicketSubmitted",
    e.MessageAdded: "TicketMessageAdded",
    e.StatusChanged: "TicketStatusChanged",
    e.PriorityChanged: "TicketPriorityChanged",
    e.Assigned: "TicketAssigned",
    e.Unassigned: "TicketUnassigned",
    e.AwaitingAgent: "TicketAwaitingAgent",
    e.Rated: "TicketRated",
    e.SlaWarningIssued: "TicketSlaWarning",
    e.SlaBreached: "TicketSlaBreached",
    e.Escalated: "TicketEscalated",
    e.AttachmentsAdded: "TicketAttachmentsAdded",
    e.AttachmentRemoved: "TicketAttachmentRemoved",
    e.AttachmentsRefused: "TicketAttachmentsRefused",
}


# The summary's fields that the ticket holds under the same name (and so do the
# rows of the `tickets` projection, adapters/read_model.py).
SUMMARY_FIELDS = (
    "ticket_id",
    "number",
    "subject",
    "status",
    "priority",
    "category",
    "queue",
    "created_at",
    "updated_at",
)


def summary_of(ticket: Ticket) -> TicketSummary:
    assert ticket.requester is not None
    assert ticket.created_at is not None
    assert ticket.updated_at is not None
    return TicketSummary(
        **{name: getattr(ticket, name) for name in SUMMARY_FIELDS},
        requester=Person(user_id=ticket.requester.user_id, name=ticket.requester.name),
        assignee=_person(ticket.assignee),
        first_response_due=ticket.sla.first_response_due,
        resolution_due=ticket.sla.resolution_due,
        version=ticket.version + len(ticket.pending),
    )


Summary = TypeVar("Summary", bound=TicketSummary)


def counted_down(summary: Summary, policy: RoutingPolicy, now: datetime) -> Summary:
    """The summary with its SLA time left at `now` on the SLA's own clock (business
    minutes on business hours), negative when overdue: what a page counts down."""
    calendar = policy.calendar(summary.priority)

    def left(due: datetime | None) -> float | None:
        if due is None:
            return None
        seconds = calendar.elapsed(now, due) if due >= now else -calendar.elapsed(due, now)
        return round(seconds / 60, 1)

    return summary.model_copy(
        update={
            "first_response_left_minutes": left(summary.first_response_due),
            "resolution_left_minutes": left(summary.resolution_due),
            "business_time": policy.route(summary.priority).clock is SlaClock.BUSINESS_HOURS,
        }
    )


def detail_of(
    ticket: Ticket, *, for_agent: bool, policy: RoutingPolicy, now: datetime | None = None
) -> TicketDetail:
    """The ticket with its timeline; customers see neither internal notes, SLA alarms,
    the admins' waiting notice, nor the agents' reasons for a (re)assignment."""
    names = _names_in(ticket.history)

    def by(user_id: UUID) -> Person:
        return _person(names.get(user_id)) or Person(user_id=user_id)

    timeline: list[TimelineEntry] = []
    for event in ticket.history:
        if isinstance(event, e.AGENTS_ONLY) and not for_agent:
            continue
        entry = _timeline_entry(event, by)
        if entry.internal and not for_agent:
            continue
        if isinstance(event, e.MOVES) and not for_agent:
            entry = entry.model_copy(update={"body": None})
        timeline.append(entry)
    summary = summary_of(ticket)
    if now is not None:
        summary = counted_down(summary, policy, now)
    return TicketDetail(
        **summary.model_dump(),
        description=ticket.description,
        first_responded_at=ticket.first_responded_at,
        timeline=timeline,
        resolved_at=ticket.resolved_at,
        reopen_until=policy.reopen_until(ticket.resolved_at) if ticket.resolved_at else None,
        auto_close_at=ticket.sla.auto_close_at,
        rated=ticket.resolutions > 0 and ticket.rated == ticket.resolutions,
        channel=ticket.channel,
        opened_by=_person(ticket.opened_by),
        requester_email=ticket.requester.email if for_agent and ticket.requester else None,
        next_statuses=_next_statuses(ticket, for_agent=for_agent, policy=policy, now=now),
    )


def _next_statuses(
    ticket: Ticket, *, for_agent: bool, policy: RoutingPolicy, now: datetime | None
) -> list[TicketStatus]:
    """Where the caller may move the ticket now: the lifecycle's moves, without a
    requester's reopen past its window."""
    moves = allowed_moves(ticket.status, by_agent=for_agent)
    late = (
        not for_agent
        and ticket.resolved_at is not None
        and now is not None
        and now > policy.reopen_until(ticket.resolved_at)
    )
    return [s for s in TicketStatus if s in moves and not (late and s is TicketStatus.OPEN)]


def _person(contact: Contact | None) -> Person | None:
    return Person(user_id=contact.user_id, name=contact.name) if contact else None


def _names_in(history: list[e.TicketEvent]) -> dict[UUID, Contact]:
    """Each person's latest contact among those the published events carried
    (the requester and the assignee of the time travel with most of them)."""
    names: dict[UUID, Contact] = {}
    requester: Contact | None = None
    assignee: Contact | None = None
    for event in history:
        carried: list[Contact | None] = []
        match event:
            case e.Submitted():
                requester = event.requester
                carried = [requester]
            case e.MessageAdded():
                carried = [requester, event.author, assignee]
            case e.StatusChanged() | e.PriorityChanged():
                carried = [requester]
            case e.Assigned():
                assignee = event.assignee
                carried = [assignee]
            case e.Unassigned():
                carried = [event.previous_assignee]
                assignee = None
            case e.SlaWarningIssued() | e.SlaBreached():
                carried = [assignee]
        for contact in carried:
            if contact is not None:
                names[contact.user_id] = contact
    return names


def _timeline_entry(event: e.TicketEvent, by: Callable[[UUID], Person]) -> TimelineEntry:
    base: dict[str, Any] = {"at": event.at, "kind": TIMELINE_KIND[type(event)]}
    match event:
        case e.Submitted():
            return TimelineEntry(
                **base,
                author=by(event.requester.user_id),
                body=event.description,
                details={
                    "priority": event.priority.value,
                    "queue": event.queue,
                    "category": event.category.value if event.category else None,
                    "channel": event.channel.value,
                    "opened_by": event.opened_by.name if event.opened_by else None,
                },
            )
        case e.MessageAdded():
            return TimelineEntry(
                **base,
                author=by(event.author.user_id),
                body=event.body,
                internal=event.internal,
                details={"status": event.status.value},
            )
        case e.StatusChanged():
            return TimelineEntry(
                **base,
                author=None if event.by == AUTOMATIC else by(event.by),
                body=event.note,
                details={"from": event.from_status.value, "to": event.to_status.value},
            )
        case e.Rated():
            return TimelineEntry(
                **base,
                author=by(event.by),
                body=event.comment,
                details={"rating": str(event.rating), "resolution": str(event.resolution)},
            )
        case e.PriorityChanged():
            return TimelineEntry(
                **base,
                author=by(event.by),
                details={
                    "from": event.from_priority.value,
                    "to": event.priority.value,
                    "queue": event.queue,
                },
            )
        case e.Assigned():
            details = {
                "assignee": event.assignee.name or str(event.assignee.user_id),
                "assignee_id": str(event.assignee.user_id),
            }
            if event.reason is not None:  # automatic: no author, the policy instead
                details |= {"policy": event.reason.policy.value, "trigger": event.reason.trigger}
                return TimelineEntry(**base, details=details)
            return TimelineEntry(**base, author=by(event.by), body=event.note, details=details)
        case e.Unassigned():
            return TimelineEntry(
                **base,
                author=None if event.by == AUTOMATIC else by(event.by),
                details={
                    "previous_assignee": event.previous_assignee.name
                    or str(event.previous_assignee.user_id),
                    "reason": event.reason,
                },
                body=event.note,
            )
        case e.AwaitingAgent():
            names = ", ".join(a.name or str(a.user_id) for a in event.admins)
            return TimelineEntry(**base, details={"admins": names})
        case e.SlaWarningIssued() | e.SlaBreached():
            return TimelineEntry(
                **base, details={"target": event.target.value, "due_at": event.due_at.isoformat()}
            )
        case e.AttachmentsAdded() | e.AttachmentRemoved() | e.AttachmentsRefused():
            return attachment_entry(event, base, by)
    return TimelineEntry(**base)

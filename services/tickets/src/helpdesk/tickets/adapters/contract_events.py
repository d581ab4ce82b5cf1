"""The one place where the Ticket's private events meet the public contract.

Saving, each new domain event becomes its contract event
(`helpdesk.contracts.tickets`): that is what the event store keeps, what the
outbox publishes on `tickets.events.ticket.<verb>[.<priority>]` and what the
projections read. The translation adds what subscribers need and the
aggregate already knows, taken from the ticket *as it stood before the
event* (its number, requester, subject line, assignee, priority, queue).
Loading, each stored contract event becomes the domain event again.

The store keeps the contract form so that streams written before the
aggregate had private events load unchanged, and the projections (and their
rebuild) read one format. The aggregate may change its events freely; only
this module must keep both directions in step (a round-trip test guards it).
`EVENT_TYPES` is the service's one registry of event types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from helpdesk.contracts import attachments as files
from helpdesk.contracts import tickets as contract
from helpdesk.tickets.domain import events as domain
from helpdesk.tickets.domain.ticket import Ticket

# The service's one registry: stored/published event type -> its contract class.
EVENT_TYPES: dict[str, type[contract.TicketEvent]] = {
    cls.event_type: cls for cls in (*contract.TICKET_EVENTS, *files.ATTACHMENT_EVENTS)
}


def contract_events(ticket: Ticket, *, start: int | None = None) -> list[contract.TicketEvent]:
    """The contract form of the ticket's events from `start` on (default: the unsaved ones)."""
    if start is None:
        start = len(ticket.history) - len(ticket.pending)
    return [
        to_contract(Ticket.fold(ticket.ticket_id, ticket.history[:index]), ticket.history[index])
        for index in range(start, len(ticket.history))
    ]


def to_contract(before: Ticket, event: domain.TicketEvent) -> contract.TicketEvent:
    """`event` as published, with the context of the ticket it happened to."""
    common: dict[str, Any] = {
        "ticket_id": before.ticket_id,
        "number": before.number,
        "at": event.at,
    }
    match event:
        case domain.Submitted():
            return contract.TicketSubmitted(
                ticket_id=before.ticket_id,
                number=event.number,
                at=event.at,
                requester=event.requester,
                subject_line=event.subject,
                description=event.description,
                priority=event.priority,
                category=event.category,
                queue=event.queue,
                clock=event.clock,
                page=event.page,
                first_response_due=event.sla.first_response_due,
                resolution_due=event.sla.resolution_due,
                sla=event.sla,
                channel=event.channel,
                opened_by=event.opened_by,
            )
        case domain.MessageAdded():
            return contract.TicketMessageAdded(
                **common,
                message_id=event.message_id,
                author=event.author,
                by_agent=event.by_agent,
                body=event.body,
                internal=event.internal,
                requester=_requester(before),
                assignee=before.assignee,
                first_response=event.first_response,
                status=event.status,
                sla=event.sla,
                files=list(event.files),
            )
        case domain.StatusChanged():
            return contract.TicketStatusChanged(
                **common,
                by=event.by,
                by_agent=event.by_agent,
                from_status=event.from_status,
                to_status=event.to_status,
                requester=_requester(before),
                subject_line=before.subject,
                sla=event.sla,
                note=event.note,
            )
        case domain.PriorityChanged():
            return contract.TicketPriorityChanged(
                **common,
                by=event.by,
                from_priority=event.from_priority,
                priority=event.priority,
                queue=event.queue,
                clock=event.clock,
                page=event.page,
                subject_line=before.subject,
                requester=_requester(before),
                first_response_due=event.sla.first_response_due,
                resolution_due=event.sla.resolution_due,
                sla=event.sla,
            )
        case domain.Assigned():
            return contract.TicketAssigned(
                **common,
                by=event.by,
                assignee=event.assignee,
                previous_assignee_id=event.previous_assignee_id,
                status=event.status,
                sla=event.sla,
                reason=event.reason,
                queue=before.queue,
                subject_line=before.subject,
                note=event.note,
            )
        case domain.Unassigned():
            return contract.TicketUnassigned(
                **common,
                by=event.by,
                previous_assignee=event.previous_assignee,
                reason=event.reason,  # type: ignore[arg-type]
                queue=before.queue,
                status=before.status,
                note=event.note,
            )
        case domain.Rated():
            return contract.TicketRated(
                **common,
                rating=event.rating,
                comment=event.comment,
                resolution=event.resolution,
                requester=_requester(before),
                assignee=before.assignee,
                queue=before.queue,
            )
        case domain.AwaitingAgent():
            return contract.TicketAwaitingAgent(
                **common,
                queue=before.queue,
                priority=before.priority,
                subject_line=before.subject,
                admins=list(event.admins),
            )
        case domain.SlaWarningIssued() | domain.SlaBreached():
            alarm = (
                contract.TicketSlaWarning
                if isinstance(event, domain.SlaWarningIssued)
                else contract.TicketSlaBreached
            )
            return alarm(
                **common,
                target=event.target,
                due_at=event.due_at,
                priority=before.priority,
                queue=before.queue,
                subject_line=before.subject,
                assignee=before.assignee,
            )
        case domain.Escalated():
            assert before.created_at is not None
            return contract.TicketEscalated(
                **common,
                priority=before.priority,
                queue=before.queue,
                subject_line=before.subject,
                submitted_at=before.created_at,
            )
        case domain.AttachmentsAdded():
            return files.TicketAttachmentsAdded(
                **common,
                files=list(event.files),
                by=event.by,
                by_agent=event.by_agent,
                internal=event.internal,
                message_id=event.message_id,
                with_message=event.with_message,
                requester=_requester(before),
                subject_line=before.subject,
            )
        case domain.AttachmentsRefused():
            return files.TicketAttachmentsRefused(
                **common,
                files=list(event.files),
                by=event.by,
                by_agent=event.by_agent,
                message_id=event.message_id,
                requester=_requester(before),
                subject_line=before.subject,
            )
        case domain.AttachmentRemoved():
            return files.TicketAttachmentRemoved(
                **common,
                attachment_id=event.attachment_id,
                sha256=event.sha256,
                thumbnail=event.thumbnail,
                internal=event.internal,
                by=event.by,
                reason=event.reason,
            )


def stored_event(event_type: str, data: Mapping[str, Any]) -> contract.TicketEvent | None:
    """A stored event in its contract form; None for a type this service does not know."""
    event_cls = EVENT_TYPES.get(event_type)
    return event_cls.model_validate(data) if event_cls is not None else None


def from_contract(event: contract.TicketEvent) -> domain.TicketEvent:
    """A stored (contract) event as the aggregate's own event."""
    match event:
        case contract.TicketSubmitted():
            return domain.Submitted(
                at=event.at,
                number=event.number,
                requester=event.requester,
                subject=event.subject_line,
                description=event.description,
                priority=event.priority,
                category=event.category,
                queue=event.queue,
                clock=event.clock,
                page=event.page,
                sla=event.sla,
                channel=event.channel,
                opened_by=event.opened_by,
            )
        case contract.TicketMessageAdded():
            return domain.MessageAdded(
                at=event.at,
                message_id=event.message_id,
                author=event.author,
                by_agent=event.by_agent,
                body=event.body,
                internal=event.internal,
                first_response=event.first_response,
                status=event.status,
                sla=event.sla,
            )
        case contract.TicketStatusChanged():
            return domain.StatusChanged(
                at=event.at,
                by=event.by,
                by_agent=event.by_agent,
                from_status=event.from_status,
                to_status=event.to_status,
                sla=event.sla,
                note=event.note,
            )
        case contract.TicketPriorityChanged():
            return domain.PriorityChanged(
                at=event.at,
                by=event.by,
                from_priority=event.from_priority,
                priority=event.priority,
                queue=event.queue,
                clock=event.clock,
                page=event.page,
                sla=event.sla,
            )
        case contract.TicketAssigned():
            return domain.Assigned(
                at=event.at,
                by=event.by,
                assignee=event.assignee,
                previous_assignee_id=event.previous_assignee_id,
                status=event.status,
                sla=event.sla,
                reason=event.reason,
                note=event.note,
            )
        case contract.TicketUnassigned():
            return domain.Unassigned(
                at=event.at,
                by=event.by,
                previous_assignee=event.previous_assignee,
                reason=event.reason,
                note=event.note,
            )
        case contract.TicketRated():
            return domain.Rated(
                at=event.at,
                by=event.requester.user_id,
                rating=event.rating,
                comment=event.comment,
                resolution=event.resolution,
            )
        case contract.TicketAwaitingAgent():
            return domain.AwaitingAgent(at=event.at, admins=tuple(event.admins))
        case contract.TicketSlaWarning():
            return domain.SlaWarningIssued(at=event.at, target=event.target, due_at=event.due_at)
        case contract.TicketSlaBreached():
            return domain.SlaBreached(at=event.at, target=event.target, due_at=event.due_at)
        case contract.TicketEscalated():
            return domain.Escalated(at=event.at)
        case files.TicketAttachmentsAdded():
            return domain.AttachmentsAdded(
                at=event.at,
                files=tuple(event.files),
                by=event.by,
                by_agent=event.by_agent,
                internal=event.internal,
                message_id=event.message_id,
            )
        case files.TicketAttachmentsRefused():
            return domain.AttachmentsRefused(
                at=event.at,
                files=tuple(event.files),
                by=event.by,
                by_agent=event.by_agent,
                message_id=event.message_id,
            )
        case files.TicketAttachmentRemoved():
            return domain.AttachmentRemoved(
                at=event.at,
                attachment_id=event.attachment_id,
                sha256=event.sha256,
                thumbnail=event.thumbnail,
                internal=event.internal,
                by=event.by,
                reason=event.reason,
            )
    raise TypeError(f"not a ticket event: {type(event).__name__}")


def load_ticket(ticket_id: UUID, stored: list[tuple[str, Mapping[str, Any]]]) -> Ticket:
    """Fold a ticket from its stored `(event_type, data)` pairs, oldest first."""
    events = []
    for event_type, data in stored:
        event = stored_event(event_type, data)
        if event is None:
            raise ValueError(f"stream of ticket {ticket_id} holds unknown {event_type}")
        events.append(from_contract(event))
    return Ticket.fold(ticket_id, events)


def _requester(ticket: Ticket) -> contract.Contact:
    assert ticket.requester is not None
    return ticket.requester

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

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from helpdesk.contracts import attachments as files
from helpdesk.contracts import tickets as contract
from helpdesk.servicekit.eventstore import EventStore
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


# Each private event and the contract event it is published as.
_CONTRACT_OF: dict[type[domain.TicketEvent], type[contract.TicketEvent]] = {
    domain.Submitted: contract.TicketSubmitted,
    domain.MessageAdded: contract.TicketMessageAdded,
    domain.StatusChanged: contract.TicketStatusChanged,
    domain.PriorityChanged: contract.TicketPriorityChanged,
    domain.Assigned: contract.TicketAssigned,
    domain.Unassigned: contract.TicketUnassigned,
    domain.Rated: contract.TicketRated,
    domain.AwaitingAgent: contract.TicketAwaitingAgent,
    domain.SlaWarningIssued: contract.TicketSlaWarning,
    domain.SlaBreached: contract.TicketSlaBreached,
    domain.Escalated: contract.TicketEscalated,
    domain.AttachmentsAdded: files.TicketAttachmentsAdded,
    domain.AttachmentsRefused: files.TicketAttachmentsRefused,
    domain.AttachmentRemoved: files.TicketAttachmentRemoved,
}
_DOMAIN_OF = {published: private for private, published in _CONTRACT_OF.items()}

# A private event's field that the contract spells otherwise.
_CONTRACT_NAME = {"subject": "subject_line"}


def _requester(before: Ticket, event: domain.TicketEvent) -> contract.Contact:
    assert before.requester is not None
    return before.requester


def _requester_id(before: Ticket, event: domain.TicketEvent) -> UUID:
    """Whose ticket it is: their key seals its texts (contracts/personal.py)."""
    requester = before.requester or getattr(event, "requester", None)
    assert requester is not None
    return requester.user_id


def _submitted_at(before: Ticket, event: domain.TicketEvent) -> datetime:
    assert before.created_at is not None
    return before.created_at


def _resolution(before: Ticket, event: domain.StatusChanged) -> int | None:
    """Which resolution the ticket stands in after a status change (its rating link
    names it): counted as `Ticket._enter` counts them."""
    resolved = contract.TicketStatus.RESOLVED
    if event.to_status is resolved:
        return before.resolutions + (before.status is not resolved)
    if event.to_status is contract.TicketStatus.CLOSED and before.resolved_at is not None:
        return before.resolutions
    return None


# A contract field the event does not carry: what the ticket as it stood before
# the event (or the event's own SLA) says. Fields of neither keep their default.
_FROM_TICKET: dict[str, Callable[[Ticket, Any], Any]] = {
    "requester": _requester,
    "requester_id": _requester_id,
    "assignee": lambda before, event: before.assignee,
    "subject_line": lambda before, event: before.subject,
    "queue": lambda before, event: before.queue,
    "priority": lambda before, event: before.priority,
    "status": lambda before, event: before.status,
    "submitted_at": _submitted_at,
    "resolution": _resolution,
    "first_response_due": lambda before, event: event.sla.first_response_due,
    "resolution_due": lambda before, event: event.sla.resolution_due,
}


def to_contract(before: Ticket, event: domain.TicketEvent) -> contract.TicketEvent:
    """`event` as published, with the context of the ticket it happened to."""
    published = _CONTRACT_OF[type(event)]
    data: dict[str, Any] = {"ticket_id": before.ticket_id, "number": before.number}
    for field in dataclasses.fields(event):
        name = _CONTRACT_NAME.get(field.name, field.name)
        if name in published.model_fields:  # Rated's `by` is its requester's, not sent
            value = getattr(event, field.name)
            data[name] = list(value) if isinstance(value, tuple) else value
    for name in published.model_fields.keys() - data.keys():
        if (context := _FROM_TICKET.get(name)) is not None:
            data[name] = context(before, event)
    return published(**data)


def stored_event(event_type: str, data: Mapping[str, Any]) -> contract.TicketEvent | None:
    """A stored event in its contract form; None for a type this service does not know."""
    event_cls = EVENT_TYPES.get(event_type)
    return event_cls.model_validate(data) if event_cls is not None else None


def from_contract(event: contract.TicketEvent) -> domain.TicketEvent:
    """A stored (contract) event as the aggregate's own event."""
    private = _DOMAIN_OF.get(type(event))
    if private is None:
        raise TypeError(f"not a ticket event: {type(event).__name__}")
    values: dict[str, Any] = {}
    for field in dataclasses.fields(private):
        name = _CONTRACT_NAME.get(field.name, field.name)
        if name in type(event).model_fields:
            value = getattr(event, name)
            values[field.name] = tuple(value) if isinstance(value, list) else value
    if isinstance(event, contract.TicketRated):
        values["by"] = event.requester.user_id  # the requester rates
    return private(**values)


def complete_requester_ids(stream: list[tuple[str, dict[str, Any]]]) -> None:
    """Events stored before schema 2 do not name the ticket's requester, whose key
    seals their texts: it is the one the ticket was submitted by (for resealing)."""
    submitted = next((d for t, d in stream if t == contract.TicketSubmitted.event_type), None)
    if submitted is None:
        return
    for _, data in stream:
        data.setdefault("requester_id", submitted["requester"]["user_id"])


# The tickets' event store: the contract events, older ones completed for resealing.
TICKETS_STORE = EventStore(complete_stream=complete_requester_ids)


def load_ticket(ticket_id: UUID, stored: list[tuple[str, Mapping[str, Any]]]) -> Ticket:
    """Fold a ticket from its stored `(event_type, data)` pairs, oldest first."""
    events = []
    for event_type, data in stored:
        event = stored_event(event_type, data)
        if event is None:
            raise ValueError(f"stream of ticket {ticket_id} holds unknown {event_type}")
        events.append(from_contract(event))
    return Ticket.fold(ticket_id, events)

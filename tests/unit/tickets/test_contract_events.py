"""The one translation between the Ticket's private events and the contract events."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from helpdesk.contracts import tickets as contract
from helpdesk.contracts.attachments import ATTACHMENT_EVENTS
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Contact, TicketStatus
from helpdesk.tickets.adapters.contract_events import (
    EVENT_TYPES,
    contract_events,
    from_contract,
    load_ticket,
)
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.views import TIMELINE_KIND
from tests.unit.tickets.builders import new_ticket

POLICY = load_policy()
AT = datetime(2026, 11, 28, 23, tzinfo=ZoneInfo("Europe/Athens"))  # Saturday night
MARIA = Caller(Contact(user_id=uuid4(), name="Μαρία", email="m@example.gr"), False)
SMITH = Caller(Contact(user_id=uuid4(), name="Agent Smith", email="s@example.com"), True)


def a_whole_life() -> Ticket:
    """A critical ticket that goes through every kind of event."""
    t = new_ticket(
        MARIA.contact,
        priority=Priority.CRITICAL,
        at=AT,
        number="HD-2026-000007",
        subject="Όλα κάτω",
        description="Δεν δουλεύει τίποτα.",
        category=contract.Category.NETWORK,
    )
    t.check_sla(AT + timedelta(minutes=12))  # warning
    t.check_sla(AT + timedelta(minutes=16))  # breach, escalation
    minute = AT + timedelta(minutes=20)
    t.assign(
        SMITH, SMITH.contact, assignee_is_agent=True, reassign=False, policy=POLICY, now=minute
    )
    t.unassign(by=SMITH.user_id, reason="handed_back", now=minute)
    t.tell_admins_it_waits([SMITH.contact], now=minute)
    reason = contract.AssignmentReason(
        policy=contract.AssignmentPolicy.LEAST_OPEN,
        trigger="unassigned",
        candidates=[SMITH.user_id],
        open_tickets=0,
    )
    t.assign_automatically(SMITH.contact, reason, policy=POLICY, now=minute)
    t.add_message(SMITH, body="Κοιτάμε.", internal=False, policy=POLICY, now=minute)
    t.change_priority(SMITH, Priority.HIGH, policy=POLICY, now=minute)
    t.change_status(SMITH, TicketStatus.RESOLVED, policy=POLICY, now=minute)
    t.rate(MARIA, rating=5, comment="Ευχαριστώ", now=minute)
    return t


def test_every_event_type_survives_the_round_trip_through_the_store() -> None:
    t = a_whole_life()
    published = contract_events(t)
    assert {type(p) for p in published} == set(contract.TICKET_EVENTS)
    assert [from_contract(p) for p in published] == t.history
    stored = [(p.event_type, p.model_dump(mode="json")) for p in published]
    assert load_ticket(t.ticket_id, stored) == Ticket.fold(t.ticket_id, t.history)


def test_contract_events_carry_the_ticket_as_it_stood() -> None:
    t = a_whole_life()
    by_type = {type(p): p for p in contract_events(t)}
    warning = by_type[contract.TicketSlaWarning]
    assert isinstance(warning, contract.TicketSlaWarning)
    assert (warning.number, warning.priority, warning.queue, warning.assignee) == (
        "HD-2026-000007",
        Priority.CRITICAL,
        "incidents",
        None,
    )
    message = by_type[contract.TicketMessageAdded]
    assert isinstance(message, contract.TicketMessageAdded)
    assert message.requester == MARIA.contact
    assert message.assignee == SMITH.contact
    changed = by_type[contract.TicketPriorityChanged]
    assert changed.subject() == "tickets.events.ticket.priority_changed.high"
    submitted = by_type[contract.TicketSubmitted]
    assert submitted.subject() == "tickets.events.ticket.submitted.critical"
    assert isinstance(submitted, contract.TicketSubmitted)
    assert submitted.first_response_due == submitted.sla.first_response_due


def test_one_registry_and_the_timeline_names_agree_with_it() -> None:
    assert set(EVENT_TYPES.values()) == {*contract.TICKET_EVENTS, *ATTACHMENT_EVENTS}
    t = a_whole_life()
    for event, published in zip(t.history, contract_events(t, start=0), strict=True):
        assert TIMELINE_KIND[type(event)] == published.event_type
    assert set(TIMELINE_KIND) == {
        e.Submitted,
        e.MessageAdded,
        e.StatusChanged,
        e.PriorityChanged,
        e.Assigned,
        e.Unassigned,
        e.AwaitingAgent,
        e.Rated,
        e.SlaWarningIssued,
        e.SlaBreached,
        e.AttachmentsAdded,
        e.AttachmentRemoved,
        e.AttachmentsRefused,
        e.Escalated,
    }


def test_only_new_events_are_published() -> None:
    t = a_whole_life()
    t.saved()
    assert contract_events(t) == []
    t.change_status(MARIA, TicketStatus.CLOSED, policy=POLICY, now=AT + timedelta(days=1))
    (closed,) = contract_events(t)
    assert isinstance(closed, contract.TicketStatusChanged)
    assert closed.requester == MARIA.contact
    assert closed.subject_line == "Όλα κάτω"


def test_an_automatic_assignment_says_why_and_a_hand_back_where_it_goes() -> None:
    by_type = {type(p): p for p in contract_events(a_whole_life())}
    assigned = by_type[contract.TicketAssigned]
    assert isinstance(assigned, contract.TicketAssigned)
    assert assigned.by == contract.AUTOMATIC
    assert assigned.reason is not None
    assert assigned.reason.policy is contract.AssignmentPolicy.LEAST_OPEN
    assert (assigned.queue, assigned.subject_line) == ("incidents", "Όλα κάτω")
    handed = by_type[contract.TicketUnassigned]
    assert isinstance(handed, contract.TicketUnassigned)
    assert (handed.previous_assignee, handed.reason) == (SMITH.contact, "handed_back")

"""The Ticket aggregate: lifecycle, who may do what, and the SLA clocks."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Contact, SlaTarget, TicketStatus
from helpdesk.tickets.adapters.contract_events import contract_events, load_ticket
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.errors import (
    AlreadyAssigned,
    Forbidden,
    InvalidTransition,
    TicketClosed,
    TicketNotFound,
)
from helpdesk.tickets.domain.events import Assigned, Escalated, SlaBreached, SlaWarningIssued
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket
from tests.unit.tickets.builders import new_ticket

ATHENS = ZoneInfo("Europe/Athens")
S = TicketStatus


def athens(*args: int) -> datetime:
    return datetime(*args, tzinfo=ATHENS)  # type: ignore[misc]


@pytest.fixture(scope="module")
def policy() -> RoutingPolicy:
    return load_policy()


CUSTOMER = Caller(Contact(user_id=uuid4(), name="Μαρία", email="maria@example.com"), False)
OTHER_CUSTOMER = Caller(Contact(user_id=uuid4(), name="Νίκος"), False)
AGENT = Caller(Contact(user_id=uuid4(), name="Agent A"), True)
AGENT_B = Caller(Contact(user_id=uuid4(), name="Agent B"), True)

MONDAY_9 = athens(2026, 11, 23, 9)


def submit(
    policy: RoutingPolicy, priority: Priority = Priority.NORMAL, at: datetime = MONDAY_9
) -> Ticket:
    ticket = new_ticket(
        CUSTOMER.contact,
        priority=priority,
        at=at,
        subject="Ο εκτυπωτής δεν τυπώνει",
        policy=policy,
    )
    return reload(ticket)


def take(
    ticket: Ticket,
    caller: Caller,
    policy: RoutingPolicy,
    *,
    reassign: bool = False,
    now: datetime = MONDAY_9,
) -> Assigned | None:
    """`caller` assigns the ticket to themselves (an assignee is an agent when the caller is)."""
    return ticket.assign(
        caller,
        caller.contact,
        assignee_is_agent=caller.is_agent,
        reassign=reassign,
        policy=policy,
        now=now,
    )


def reload(ticket: Ticket) -> Ticket:
    """What the repository does: store the events in their contract form, fold them back."""
    stored = [(e.event_type, e.model_dump(mode="json")) for e in contract_events(ticket, start=0)]
    return load_ticket(ticket.ticket_id, stored)


def test_submit_routes_and_sets_due_times(policy: RoutingPolicy) -> None:
    ticket = submit(policy, Priority.NORMAL)
    (submitted,) = contract_events(ticket, start=0)
    assert ticket.status is S.SUBMITTED
    assert ticket.queue == "service-desk"
    assert ticket.sla.first_response_due == athens(2026, 11, 23, 17)  # 8 business hours
    assert ticket.sla.resolution_due == athens(2026, 11, 25, 17)  # 3 business days
    assert submitted.subject() == "tickets.events.ticket.submitted.normal"


def test_critical_is_24_7_pages_and_can_escalate(policy: RoutingPolicy) -> None:
    saturday_night = athens(2026, 11, 28, 23)
    ticket = submit(policy, Priority.CRITICAL, saturday_night)
    event = ticket.history[0]
    assert ticket.queue == "incidents"
    assert event.page is True  # type: ignore[union-attr]
    assert ticket.sla.first_response_due == saturday_night + timedelta(minutes=15)
    assert ticket.sla.resolution_due == saturday_night + timedelta(hours=4)
    assert ticket.sla.escalate_at == saturday_night + timedelta(minutes=15)


def test_the_first_public_agent_reply_stops_the_first_response_clock(policy: RoutingPolicy) -> None:
    ticket = submit(policy)
    ticket.add_message(
        AGENT, body="internal", internal=True, policy=policy, now=MONDAY_9 + timedelta(hours=1)
    )
    assert ticket.sla.first_response_due is not None
    assert ticket.status is S.SUBMITTED
    first = ticket.add_message(
        AGENT, body="Καλημέρα", internal=False, policy=policy, now=MONDAY_9 + timedelta(hours=2)
    )
    assert first.first_response
    assert ticket.status is S.OPEN
    assert ticket.sla.first_response_due is None
    second = ticket.add_message(
        AGENT, body="again", internal=False, policy=policy, now=MONDAY_9 + timedelta(hours=3)
    )
    assert not second.first_response
    assert reload(ticket).first_responded_at == MONDAY_9 + timedelta(hours=2)


def test_pending_pauses_the_resolution_clock(policy: RoutingPolicy) -> None:
    ticket = submit(policy)  # resolution: 3 business days = 24 business hours
    ticket.change_status(AGENT, S.PENDING, policy=policy, now=athens(2026, 11, 23, 13))
    assert ticket.sla.resolution_due is None
    ticket = reload(ticket)
    # The requester answers next morning: 4 h were used, 20 h remain.
    ticket.add_message(
        CUSTOMER,
        body="Δοκίμασα, τίποτα.",
        internal=False,
        policy=policy,
        now=athens(2026, 11, 24, 9),
    )
    assert ticket.status is S.OPEN
    assert ticket.sla.resolution_due == athens(2026, 11, 26, 13)
    assert reload(ticket).sla == ticket.sla


def test_priority_change_reroutes_recomputes_and_pages_when_raised(policy: RoutingPolicy) -> None:
    ticket = submit(policy, Priority.NORMAL)
    event = ticket.change_priority(
        AGENT, Priority.URGENT, policy=policy, now=MONDAY_9 + timedelta(minutes=5)
    )
    assert event is not None
    assert event.page
    assert contract_events(ticket)[-1].subject() == "tickets.events.ticket.priority_changed.urgent"
    assert ticket.queue == "incidents"
    assert ticket.sla.first_response_due == MONDAY_9 + timedelta(minutes=30)
    lowered = ticket.change_priority(AGENT, Priority.HIGH, policy=policy, now=MONDAY_9)
    assert lowered is not None
    assert not lowered.page
    assert ticket.change_priority(AGENT, Priority.HIGH, policy=policy, now=MONDAY_9) is None


def test_customers_see_only_their_own_tickets(policy: RoutingPolicy) -> None:
    ticket = submit(policy)
    with pytest.raises(TicketNotFound):
        ticket.ensure_visible_to(OTHER_CUSTOMER)
    with pytest.raises(TicketNotFound):
        ticket.add_message(OTHER_CUSTOMER, body="hi", internal=False, policy=policy, now=MONDAY_9)
    ticket.ensure_visible_to(CUSTOMER)
    ticket.ensure_visible_to(AGENT)


def test_customers_cannot_use_agent_commands(policy: RoutingPolicy) -> None:
    ticket = submit(policy)
    with pytest.raises(Forbidden):
        take(ticket, CUSTOMER, policy)
    with pytest.raises(Forbidden):
        ticket.change_priority(CUSTOMER, Priority.CRITICAL, policy=policy, now=MONDAY_9)
    with pytest.raises(Forbidden):
        ticket.add_message(CUSTOMER, body="note", internal=True, policy=policy, now=MONDAY_9)
    with pytest.raises(Forbidden):
        ticket.change_status(CUSTOMER, S.RESOLVED, policy=policy, now=MONDAY_9)
    assert ticket.pending == []


def test_whole_lifecycle_with_reopen(policy: RoutingPolicy) -> None:
    ticket = submit(policy)
    take(ticket, AGENT, policy)
    assert ticket.status is S.OPEN
    ticket.change_status(AGENT, S.RESOLVED, policy=policy, now=MONDAY_9 + timedelta(hours=1))
    assert ticket.sla.resolution_due is None
    ticket.change_status(CUSTOMER, S.OPEN, policy=policy, now=MONDAY_9 + timedelta(hours=2))
    ticket.change_status(AGENT, S.RESOLVED, policy=policy, now=MONDAY_9 + timedelta(hours=3))
    ticket.change_status(CUSTOMER, S.CLOSED, policy=policy, now=MONDAY_9 + timedelta(hours=4))
    assert reload(ticket).status is S.CLOSED
    with pytest.raises(TicketClosed):
        ticket.add_message(CUSTOMER, body="one more", internal=False, policy=policy, now=MONDAY_9)
    with pytest.raises(TicketClosed):
        ticket.change_status(AGENT, S.OPEN, policy=policy, now=MONDAY_9)


def test_invalid_transitions(policy: RoutingPolicy) -> None:
    ticket = submit(policy)
    with pytest.raises(InvalidTransition):
        ticket.change_status(AGENT, S.CLOSED, policy=policy, now=MONDAY_9)
    with pytest.raises(InvalidTransition):
        ticket.change_status(AGENT, S.SUBMITTED, policy=policy, now=MONDAY_9)


def test_second_assignee_needs_an_explicit_reassign(policy: RoutingPolicy) -> None:
    ticket = submit(policy)
    take(ticket, AGENT, policy)
    assert take(ticket, AGENT, policy) is None
    with pytest.raises(AlreadyAssigned):
        take(ticket, AGENT_B, policy)
    event = take(ticket, AGENT_B, policy, reassign=True)
    assert event is not None
    assert event.previous_assignee_id == AGENT.user_id


def test_sla_warning_then_breach_each_exactly_once(policy: RoutingPolicy) -> None:
    ticket = submit(policy, Priority.HIGH)  # first response: 2 business hours -> 11:00
    assert ticket.check_sla(MONDAY_9 + timedelta(minutes=90)) == []
    warned = ticket.check_sla(MONDAY_9 + timedelta(minutes=96))  # 80 % of 2 h
    assert [(type(e), e.target) for e in warned] == [  # type: ignore[attr-defined]
        (SlaWarningIssued, SlaTarget.FIRST_RESPONSE)
    ]
    ticket = reload(ticket)
    assert ticket.check_sla(MONDAY_9 + timedelta(minutes=100)) == []
    breached = ticket.check_sla(athens(2026, 11, 23, 11))
    assert [type(e) for e in breached] == [SlaBreached]
    assert reload(ticket).check_sla(athens(2026, 11, 23, 12)) == []


def test_a_breach_found_late_is_not_preceded_by_a_stale_warning(policy: RoutingPolicy) -> None:
    ticket = submit(policy, Priority.HIGH)
    events = ticket.check_sla(athens(2026, 11, 23, 18))  # resolution: 8 business h -> 17:00
    assert sorted((type(e).__name__, e.target) for e in events) == [  # type: ignore[attr-defined]
        ("SlaBreached", SlaTarget.FIRST_RESPONSE),
        ("SlaBreached", SlaTarget.RESOLUTION),
    ]


def test_unacknowledged_critical_escalates_once(policy: RoutingPolicy) -> None:
    at = athens(2026, 11, 28, 23)
    ticket = submit(policy, Priority.CRITICAL, at)
    events = ticket.check_sla(at + timedelta(minutes=15))
    assert any(isinstance(e, Escalated) for e in events)
    assert not any(
        isinstance(e, Escalated) for e in reload(ticket).check_sla(at + timedelta(minutes=20))
    )


def test_an_assigned_critical_does_not_escalate(policy: RoutingPolicy) -> None:
    at = athens(2026, 11, 28, 23)
    ticket = submit(policy, Priority.CRITICAL, at)
    later = at + timedelta(minutes=5)
    take(ticket, AGENT, policy, now=later)
    assert ticket.sla.escalate_at is None
    assert not any(isinstance(e, Escalated) for e in ticket.check_sla(at + timedelta(minutes=16)))

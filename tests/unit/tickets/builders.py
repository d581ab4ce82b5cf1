"""A new ticket for tests of the aggregate and of what is made from its events
(contract events, mails, facts): every argument of `Ticket.submit` has a
plain default, so a test names only what it is about."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Category, Contact
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket

POLICY = load_policy()
# Monday 23 November 2026, 09:00 in Athens: the start of a business week.
MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Europe/Athens"))
MARIA = Contact(user_id=uuid4(), name="Μαρία", email="maria@example.gr", locale="el")


def new_ticket(
    requester: Contact = MARIA,
    *,
    priority: Priority = Priority.NORMAL,
    at: datetime = MONDAY_9,
    number: str = "HD-2026-000001",
    subject: str = "Δεν τυπώνει ο εκτυπωτής",
    description: str = "Από το πρωί.",
    category: Category | None = None,
    policy: RoutingPolicy = POLICY,
) -> Ticket:
    return Ticket.submit(
        ticket_id=uuid4(),
        number=number,
        requester=requester,
        subject=subject,
        description=description,
        priority=priority,
        category=category,
        policy=policy,
        now=at,
    )

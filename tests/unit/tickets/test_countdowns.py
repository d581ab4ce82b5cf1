"""SLA countdowns in the SLA's own time (issue 29): what a page shows as "due in
2 h 15 min (business time)", computed by the tickets service at the answer."""

from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk.contracts.actors import Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import GetTicket, ListTickets, SubmitTicket
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.handlers import commands, queries
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.conftest import ATHENS
from tests.unit.tickets.fakes import FakeDatabase


async def test_time_left_is_business_time_and_negative_when_overdue(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Agent", Role.AGENT)
    clock.set(datetime(2026, 11, 27, 16, tzinfo=ATHENS))  # Friday 16:00; normal: 8 business h
    done = await commands.submit(
        SubmitTicket(actor=maria, subject="VPN", description="x", priority=Priority.NORMAL), deps
    )
    clock.advance(timedelta(minutes=30))
    detail = await queries.get_ticket(GetTicket(actor=maria, ticket_id=done.ticket_id), deps)
    assert detail.business_time
    assert detail.first_response_left_minutes == 450.0  # 30 min on Friday, 7 h on Monday
    # Monday 16:01 (the weekend does not count): overdue by one business minute.
    clock.set(datetime(2026, 11, 30, 16, 1, tzinfo=ATHENS))
    (item,) = (await queries.list_tickets(ListTickets(actor=agent), deps)).items
    assert item.first_response_left_minutes == -1.0
    assert item.resolution_left_minutes == 3 * 480 - 60 - 421  # Friday 1 h, Monday 7 h 1 min


async def test_a_24_7_ticket_counts_wall_clock_minutes(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    done = await commands.submit(
        SubmitTicket(actor=maria, subject="Δίκτυο", description="x", priority=Priority.URGENT),
        deps,
    )
    clock.advance(timedelta(minutes=10))
    detail = await queries.get_ticket(GetTicket(actor=maria, ticket_id=done.ticket_id), deps)
    assert not detail.business_time
    assert detail.first_response_left_minutes == 20.0

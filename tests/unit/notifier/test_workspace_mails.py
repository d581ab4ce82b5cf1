"""Mails of the agent's workspace (issue 29, `handlers/tickets.py`): a ticket
nobody of its queue is available for (each of the queue's admins is told, in
their language), the resolution with its rating link and closing date, and a
ticket that closed by itself."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    AUTOMATIC,
    Contact,
    SlaSchedule,
    TicketAwaitingAgent,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk.notifier.handlers.tickets import TICKET_HANDLERS
from tests.unit.notifier.fakes import run


async def test_each_admin_of_the_queue_is_told_in_their_language() -> None:
    event = TicketAwaitingAgent(
        ticket_id=uuid4(),
        number="HD-2026-000042",
        at=datetime.now(UTC),
        queue="service-desk",
        priority=Priority.HIGH,
        subject_line="Δεν ανοίγει το VPN",
        admins=[
            Contact(user_id=uuid4(), name="Ελένη", email="eleni@example.gr", locale="el"),
            Contact(user_id=uuid4(), name="John", email="john@example.com", locale="en"),
            Contact(user_id=uuid4(), name="No address", email=None),
        ],
    )
    greek, english = (await run(TICKET_HANDLERS, event)).queued
    subjects = {}
    for mail in (greek, english):
        message = email.message_from_bytes(mail.data, policy=email.policy.default)
        subjects[mail.recipient] = message["Subject"]
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"/tickets/{event.ticket_id}" in plain
    assert subjects == {
        "eleni@example.gr": "Κανείς διαθέσιμος στην ουρά service-desk: "
        "το αίτημα HD-2026-000042 περιμένει",
        "john@example.com": "Nobody available in queue service-desk: "
        "request HD-2026-000042 is waiting",
    }


def _status_changed(to: TicketStatus, by: UUID, auto_close_at: datetime | None = None) -> Any:
    maria = Contact(user_id=uuid4(), name="Μαρία", email="maria@example.gr", locale="el")
    return TicketStatusChanged(
        ticket_id=uuid4(),
        number="HD-2026-000042",
        at=datetime.now(UTC),
        by=by,
        by_agent=by != AUTOMATIC,
        from_status=TicketStatus.OPEN if to is TicketStatus.RESOLVED else TicketStatus.RESOLVED,
        to_status=to,
        requester=maria,
        subject_line="Δεν ανοίγει το VPN",
        sla=SlaSchedule(auto_close_at=auto_close_at),
    )


async def test_the_resolution_mail_asks_for_a_rating_and_says_when_it_closes() -> None:
    closes = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 17:00 in Athens
    event = _status_changed(TicketStatus.RESOLVED, uuid4(), closes)
    (mail,) = (await run(TICKET_HANDLERS, event)).queued
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"/tickets/{event.ticket_id}#rate" in plain
    assert "θα κλείσει αυτόματα στις 01/12/2026 17:00" in plain


async def test_closing_by_itself_is_told_and_closing_by_hand_is_not() -> None:
    (mail,) = (await run(TICKET_HANDLERS, _status_changed(TicketStatus.CLOSED, AUTOMATIC))).queued
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert message["Subject"] == "Το αίτημά σας HD-2026-000042 έκλεισε"
    by_hand = _status_changed(TicketStatus.CLOSED, uuid4())
    assert (await run(TICKET_HANDLERS, by_hand)).queued == []

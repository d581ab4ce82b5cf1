"""A ticket nobody of its queue is available for: each of the queue's admins is
told, in their own language (`handlers/tickets.py`, issue 29)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from uuid import uuid4

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Contact, TicketAwaitingAgent
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

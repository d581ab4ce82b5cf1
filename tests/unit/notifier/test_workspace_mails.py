"""Mails of the agent's workspace (issue 29, `handlers/tickets.py`): a ticket
nobody of its queue is available for (each of the queue's admins is told, in
their language), the resolution with its rating link and closing date, and a
ticket that closed by itself."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    AUTOMATIC,
    RATING_LINK_LIFETIME,
    Contact,
    RatingLink,
    SlaSchedule,
    SlaTarget,
    TicketAwaitingAgent,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk.notifier.adapters.compose import ComposedMail
from helpdesk.notifier.handlers.tickets import PAGE_HANDLERS, TICKET_HANDLERS
from helpdesk.tickets.adapters.contract_events import contract_events
from tests.unit.notifier.fakes import FakeQueueNames, run
from tests.unit.tickets.builders import new_ticket
from tests.unit.tickets.fakes import RATING_LINKS

# The routing policy's names, as the tickets service's priorities query gives them.
QUEUE_NAMES = FakeQueueNames(
    {
        "service-desk": {"el": "Γραφείο εξυπηρέτησης", "en": "Service desk"},
        "incidents": {"el": "Περιστατικά", "en": "Incidents"},
    }
)


@pytest.mark.parametrize(
    ("names", "greek_queue", "english_queue"),
    [
        (QUEUE_NAMES, "Γραφείο εξυπηρέτησης", "Service desk"),
        # The tickets service has not answered (yet): the key, and the mail still goes.
        (None, "service-desk", "service-desk"),
    ],
)
async def test_each_admin_of_the_queue_is_told_in_their_language(
    names: FakeQueueNames | None, greek_queue: str, english_queue: str
) -> None:
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
    greek, english = (await run(TICKET_HANDLERS, event, queue_names=names)).queued
    subjects = {}
    for mail in (greek, english):
        message = email.message_from_bytes(mail.data, policy=email.policy.default)
        subjects[mail.recipient] = message["Subject"]
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"/tickets/{event.ticket_id}" in plain
    assert subjects == {
        "eleni@example.gr": f"Κανείς διαθέσιμος στην ουρά {greek_queue}: "
        "το αίτημα HD-2026-000042 περιμένει",
        "john@example.com": f"Nobody available in queue {english_queue}: "
        "request HD-2026-000042 is waiting",
    }


def _status_changed(
    to: TicketStatus, by: UUID, auto_close_at: datetime | None = None, resolution: int | None = 1
) -> Any:
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
        resolution=resolution,
    )


def _body(mail: ComposedMail, kind: str = "plain") -> str:
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    return str(message.get_body((kind,)).get_content())  # type: ignore[union-attr]


async def test_the_resolution_mail_asks_for_a_rating_and_says_when_it_closes() -> None:
    closes = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 17:00 in Athens
    event = _status_changed(TicketStatus.RESOLVED, uuid4(), closes)
    (mail,) = (await run(TICKET_HANDLERS, event)).queued
    plain = _body(mail)
    assert "θα κλείσει αυτόματα στις 01/12/2026 17:00" in plain
    # A signed link that rates this resolution without a sign-in, for 30 days.
    token = re.search(r"/helpdesk/el/rate/([A-Za-z0-9_-]+)\n", plain)
    assert token is not None, plain
    payload = RATING_LINKS.open(token.group(1))  # what the tickets service verifies
    assert payload is not None
    assert RatingLink.from_bytes(payload) == RatingLink(
        ticket_id=event.ticket_id,
        resolution=1,
        requester_id=event.requester.user_id,
        expires_at=(event.at + RATING_LINK_LIFETIME).replace(microsecond=0),
    )
    assert f"/helpdesk/el/rate/{token.group(1)}" in _body(mail, "html")


async def test_an_event_without_its_resolution_links_to_the_ticket_page() -> None:
    """Stored before the events named the resolution: the signed-in page's form."""
    event = _status_changed(TicketStatus.RESOLVED, uuid4(), resolution=None)
    (mail,) = (await run(TICKET_HANDLERS, event)).queued
    assert f"/helpdesk/el/tickets/{event.ticket_id}#rate" in _body(mail)
    assert "/rate/" not in _body(mail)


async def test_closing_by_itself_is_told_and_closing_by_hand_is_not() -> None:
    (mail,) = (await run(TICKET_HANDLERS, _status_changed(TicketStatus.CLOSED, AUTOMATIC))).queued
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert message["Subject"] == "Το αίτημά σας HD-2026-000042 έκλεισε"
    by_hand = _status_changed(TicketStatus.CLOSED, uuid4())
    assert (await run(TICKET_HANDLERS, by_hand)).queued == []


async def test_sla_mails_and_pages_name_the_queue_in_the_readers_language() -> None:
    """The assignee's SLA warning in their language, the breach's on-call copy and the
    on-call page in the service desk's Greek (`_ticket_facts`, `ticket_page`)."""
    john = Contact(user_id=uuid4(), name="John", email="john@example.com", locale="en")
    facts: dict[str, Any] = {
        "ticket_id": uuid4(),
        "number": "HD-2026-000042",
        "at": datetime.now(UTC),
        "priority": Priority.URGENT,
        "queue": "service-desk",
        "subject_line": "Δεν ανοίγει το VPN",
    }
    due = {"target": SlaTarget.FIRST_RESPONSE, "due_at": datetime.now(UTC)}
    warning = TicketSlaWarning(**facts, **due, assignee=john)
    (to_john,) = (await run(TICKET_HANDLERS, warning, queue_names=QUEUE_NAMES)).queued
    assert "Queue: Service desk" in _body(to_john)
    assert "Queue: Service desk" in _body(to_john, "html")
    breach = TicketSlaBreached(**facts, **due, assignee=john)
    mails = (await run(TICKET_HANDLERS, breach, queue_names=QUEUE_NAMES)).queued
    assert {m.recipient: "Γραφείο εξυπηρέτησης" in _body(m) for m in mails} == {
        "john@example.com": False,  # in English
        "oncall@localhost.localdomain": True,
    }
    # The urgent ticket as the tickets service publishes it (its policy's queue).
    (page,) = contract_events(new_ticket(john, priority=Priority.URGENT))
    (paged,) = (await run(PAGE_HANDLERS, page, queue_names=QUEUE_NAMES)).queued
    assert "Ουρά: Περιστατικά" in _body(paged)

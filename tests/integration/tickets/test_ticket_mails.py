"""The notifier's ticket mails through the idempotent consumer path and the
sender loop to a real SMTP sink, from events the real Ticket aggregate records."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    RATING_LINK_LIFETIME,
    Contact,
    RatingLink,
    TicketAwaitingAgent,
    TicketEvent,
    TicketStatus,
)
from helpdesk.devstack.servers import MailSink
from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.adapters.queue import MailQueue
from helpdesk.notifier.adapters.queue_names import TicketsQueueNames
from helpdesk.notifier.adapters.sender import MailSender
from helpdesk.notifier.bootstrap import TICKET_MAILS, all_consumers, mail_sender
from helpdesk.notifier.handlers.deps import QueueNames
from helpdesk.servicekit.consumer import EventConsumer, handle_once
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.events import TicketEvent as DomainEvent
from helpdesk.tickets.domain.ticket import Ticket
from tests.integration.tickets.conftest import ATHENS, started_tickets
from tests.mails import notifier_settings, text_of
from tests.schemas import migrated_pool
from tests.servers import Servers
from tests.unit.tickets.builders import new_ticket
from tests.unit.tickets.fakes import RATING_LINKS, TEST_KEK

pytestmark = pytest.mark.integration

ONCALL = "oncall@helpdesk.example"
MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=ATHENS)
POLICY = load_policy()
MARIA = Contact(user_id=uuid.uuid4(), name="Μαρία Παπαδοπούλου", email="maria@example.gr")
JOHN = Contact(user_id=uuid.uuid4(), name="John Smith", email="john@example.com", locale="en")
AGENT = Contact(user_id=uuid.uuid4(), name="Agent Κώστας", email="kostas@helpdesk.example")


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    running = MailSink(tmp_path / "mail").start()
    yield running
    running.stop()


class Notifier:
    def __init__(
        self,
        pool: asyncpg.Pool,
        consumers: list[EventConsumer],
        sink: MailSink,
        sender: MailSender,
    ):
        self.pool = pool
        self.by_name = {c.name: c for c in consumers}
        self.sink = sink
        self.sender = sender

    async def deliver(self, event: EventData, consumer: str = TICKET_MAILS) -> bool:
        envelope = EventEnvelope.wrap(event, correlation_id="corr-t")
        handled = await handle_once(self.pool, self.by_name[consumer], envelope)
        await self.sender.drain()
        return handled

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sink.messages() if address in str(m["To"])]


@asynccontextmanager
async def notifier_on(
    servers: Servers, sink: MailSink, queue_names: QueueNames | None = None
) -> AsyncIterator[Notifier]:
    """The notifier's consumers and sender on a schema of their own; rating links are
    signed with the tickets tests' KEK, queues named by `queue_names` (by key without)."""
    schema, pool = await migrated_pool(servers.database_url, "notifier", prefix="nt")
    settings = notifier_settings(sink, oncall_email=ONCALL, privacy_kek=TEST_KEK)
    sender = mail_sender(settings, MailQueue(pool), schema)
    yield Notifier(pool, all_consumers(Mailer(settings), queue_names), sink, sender)
    await pool.close()


@pytest.fixture
async def notifier(servers: Servers, sink: MailSink) -> AsyncIterator[Notifier]:
    async with notifier_on(servers, sink) as running:
        yield running


def published(t: Ticket, event: DomainEvent | None = None) -> TicketEvent:
    """What the tickets service publishes for `event` of `t` (default: its first)."""
    index = 0 if event is None else next(i for i, e in enumerate(t.history) if e is event)
    return contract_events(t, start=index)[0]


def ticket(requester: Contact = MARIA, priority: Priority = Priority.NORMAL) -> Ticket:
    return new_ticket(requester, priority=priority, number="HD-2026-000042")


async def test_requester_confirmation_in_greek(notifier: Notifier) -> None:
    t = ticket()
    assert await notifier.deliver(published(t))
    (mail, *_) = notifier.to(MARIA.email or "")
    assert str(mail["Subject"]) == "Το αίτημά σας HD-2026-000042 καταχωρήθηκε"
    body = text_of(mail)
    assert "Προτεραιότητα: Κανονική" in body
    assert "23/11/2026 17:00" in body  # 8 business hours after Monday 09:00
    assert f"https://helpdesk.example/helpdesk/el/tickets/{t.ticket_id}" in body


async def test_requester_confirmation_in_english(notifier: Notifier) -> None:
    t = ticket(JOHN, Priority.HIGH)
    await notifier.deliver(published(t))
    (mail,) = notifier.to("john@example.com")
    assert str(mail["Subject"]) == "Your request HD-2026-000042 has been received"
    assert "Priority: High" in text_of(mail)
    assert "23/11/2026 11:00" in text_of(mail)


def assigned_to_agent(t: Ticket) -> Ticket:
    t.assign(
        Caller(AGENT, True),
        AGENT,
        assignee_is_agent=True,
        reassign=False,
        policy=POLICY,
        now=MONDAY_9,
    )
    return t


async def test_each_mail_once_per_event(notifier: Notifier) -> None:
    t = ticket()
    envelope = EventEnvelope.wrap(published(t), correlation_id="c")
    consumer = notifier.by_name[TICKET_MAILS]
    await handle_once(notifier.pool, consumer, envelope)
    await handle_once(notifier.pool, consumer, envelope)  # redelivered: its mail's key is taken
    assert await notifier.pool.fetchval("SELECT count(*) FROM inbox") == 0  # no inbox needed
    await notifier.sender.drain()
    assert len(notifier.to(MARIA.email or "")) == 1


class StopsAfterFirstMail(Mailer):
    """A notifier that crashes once, right after recording its first mail."""

    crashed = False

    async def queue(self, conn: Any, event_id: Any, mail: Any) -> bool:
        queued = await super().queue(conn, event_id, mail)
        if not self.crashed:
            self.crashed = True
            raise ConnectionResetError("the process died here")
        return queued


async def test_an_event_whose_handler_died_between_two_mails_gets_only_the_missing_one(
    notifier: Notifier,
) -> None:
    """No inbox transaction: the first mail stays recorded when the handler dies,
    and the redelivery records just the second (each mail's key is its event,
    recipient and template)."""
    mailer = StopsAfterFirstMail(notifier.sender.settings)
    consumer = next(c for c in all_consumers(mailer) if c.name == TICKET_MAILS)
    t = assigned_to_agent(ticket(priority=Priority.HIGH))
    breach = t.check_sla(MONDAY_9 + timedelta(hours=9))[0]  # to the assignee and on-call
    envelope = EventEnvelope.wrap(published(t, breach), correlation_id="c")
    with pytest.raises(ConnectionResetError):
        await handle_once(notifier.pool, consumer, envelope)
    assert await notifier.pool.fetchval("SELECT count(*) FROM deliveries") == 1
    await handle_once(notifier.pool, consumer, envelope)  # the redelivery
    await handle_once(notifier.pool, consumer, envelope)  # and another
    await notifier.sender.drain()
    assert len(notifier.to(AGENT.email or "")) == 1
    assert len(notifier.to(ONCALL)) == 1


async def test_pages_only_for_urgent_and_critical(notifier: Notifier) -> None:
    subjects = {c.name: c.subject for c in notifier.by_name.values()}
    assert subjects == {
        "notifier-identity-mails": "identity.events.user.>",
        "notifier-ticket-mails": "tickets.events.ticket.>",
        "notifier-assignment-mails": "tickets.events.ticket.assigned",
        "notifier-page-urgent": "tickets.events.ticket.*.urgent",
        "notifier-page-critical": "tickets.events.ticket.*.critical",
    }
    critical = ticket(priority=Priority.CRITICAL)
    await notifier.deliver(published(critical), "notifier-page-critical")
    (page,) = notifier.to(ONCALL)
    assert str(page["Subject"]) == "[Κρίσιμη] HD-2026-000042: Δεν τυπώνει ο εκτυπωτής"
    assert "Αιτών: Μαρία Παπαδοπούλου" in text_of(page)
    assert "Ουρά: incidents" in text_of(page)


async def test_raising_to_urgent_pages_lowering_does_not(notifier: Notifier) -> None:
    t = ticket(priority=Priority.NORMAL)
    agent = Caller(AGENT, True)
    raised = t.change_priority(agent, Priority.URGENT, policy=POLICY, now=MONDAY_9)
    assert raised is not None
    await notifier.deliver(published(t, raised), "notifier-page-urgent")
    (page,) = notifier.to(ONCALL)
    assert "αυξήθηκε από Κανονική σε Επείγουσα" in text_of(page)
    t2 = ticket(priority=Priority.CRITICAL)
    lowered = t2.change_priority(agent, Priority.URGENT, policy=POLICY, now=MONDAY_9)
    assert lowered is not None
    await notifier.deliver(published(t2, lowered), "notifier-page-urgent")
    assert len(notifier.to(ONCALL)) == 1


async def test_replies_go_to_the_other_side_and_notes_nowhere(notifier: Notifier) -> None:
    t = ticket()
    agent = Caller(AGENT, True)
    requester = Caller(MARIA, False)
    t.assign(agent, AGENT, assignee_is_agent=True, reassign=False, policy=POLICY, now=MONDAY_9)
    note = t.add_message(agent, body="internal", internal=True, policy=POLICY, now=MONDAY_9)
    reply = t.add_message(
        agent, body="Κάντε επανεκκίνηση.", internal=False, policy=POLICY, now=MONDAY_9
    )
    answer = t.add_message(
        requester, body="Έγινε, <b>ευχαριστώ</b>.", internal=False, policy=POLICY, now=MONDAY_9
    )
    for event in (note, reply, answer):
        await notifier.deliver(published(t, event))
    (to_maria,) = notifier.to(MARIA.email or "")
    assert str(to_maria["Subject"]) == "Νέα απάντηση στο αίτημα HD-2026-000042"
    assert "Κάντε επανεκκίνηση." in text_of(to_maria)
    (to_agent,) = notifier.to(AGENT.email or "")
    assert "Έγινε, <b>ευχαριστώ</b>." in text_of(to_agent)
    html = to_agent.get_body(("html",))
    assert html is not None
    assert "&lt;b&gt;ευχαριστώ&lt;/b&gt;" in str(html.get_content())


async def test_resolved_mail(notifier: Notifier) -> None:
    t = ticket(JOHN)
    resolved = t.change_status(
        Caller(AGENT, True), TicketStatus.RESOLVED, policy=POLICY, now=MONDAY_9
    )
    await notifier.deliver(published(t, resolved))
    (mail,) = notifier.to("john@example.com")
    assert str(mail["Subject"]) == "Your request HD-2026-000042 has been resolved"
    # Its rating link is signed so that the tickets service's verifier opens it.
    token = re.search(r"https://helpdesk\.example/helpdesk/en/rate/([A-Za-z0-9_-]+)", text_of(mail))
    assert token is not None, text_of(mail)
    payload = RATING_LINKS.open(token.group(1))
    assert payload is not None
    link = RatingLink.from_bytes(payload)
    assert link is not None
    assert (link.ticket_id, link.resolution, link.requester_id) == (t.ticket_id, 1, JOHN.user_id)
    assert link.expires_at == (MONDAY_9 + RATING_LINK_LIFETIME).replace(microsecond=0)


def awaiting_agent() -> TicketAwaitingAgent:
    return TicketAwaitingAgent(
        ticket_id=uuid.uuid4(),
        number="HD-2026-000042",
        at=MONDAY_9,
        queue="service-desk",
        priority=Priority.HIGH,
        subject_line="VPN",
        admins=[MARIA, JOHN],
    )


async def test_queues_are_named_as_the_tickets_service_names_them(
    servers: Servers, sink: MailSink
) -> None:
    """The routing policy's names, asked of a running tickets service over NATS
    (its public priorities query) and kept; a tickets service that does not answer
    keeps the last names, and before any answer the mail goes out with the key."""
    async with started_tickets(servers) as tickets:
        names = TicketsQueueNames(tickets.nc, keep_seconds=0)
        assert await names.refresh()
        kept = TicketsQueueNames(tickets.nc)
        assert await kept.refresh()
        assert not await kept.refresh()  # kept five minutes: not asked again
        nobody = await nats.connect(servers.nats_url, **servers.nats_options())
    try:
        assert not await TicketsQueueNames(nobody).refresh()  # no responders
        names.nc = nobody
        assert not await names.refresh()  # due, unanswered: the last names stay
        async with notifier_on(servers, sink, names) as notifier:
            await notifier.deliver(awaiting_agent())
            subjects = {str(m["To"]): str(m["Subject"]) for m in notifier.sink.messages()}
        assert subjects == {
            f"{MARIA.name} <{MARIA.email}>": "Κανείς διαθέσιμος στην ουρά Γραφείο εξυπηρέτησης: "
            "το αίτημα HD-2026-000042 περιμένει",
            f"{JOHN.name} <{JOHN.email}>": "Nobody available in queue Service desk: "
            "request HD-2026-000042 is waiting",
        }
        never = TicketsQueueNames(nobody)
        await never.refresh()
        async with notifier_on(servers, sink, never) as notifier:
            await notifier.deliver(awaiting_agent())  # another event: mailed again
            assert len(notifier.to(MARIA.email or "")) == 2
            assert "ουρά service-desk:" in str(notifier.to(MARIA.email or "")[-1]["Subject"])
    finally:
        await nobody.close()


async def test_sla_alarms_reach_the_assignee_and_breaches_on_call(notifier: Notifier) -> None:
    unassigned = ticket(priority=Priority.HIGH)
    (warning,) = unassigned.check_sla(MONDAY_9 + timedelta(minutes=100))
    await notifier.deliver(published(unassigned, warning))
    (mail,) = notifier.to(ONCALL)
    assert str(mail["Subject"]) == "Προειδοποίηση SLA πρώτης απάντησης: HD-2026-000042"

    assigned = assigned_to_agent(ticket(priority=Priority.HIGH))
    breaches = assigned.check_sla(MONDAY_9 + timedelta(hours=9))
    for event in breaches:
        await notifier.deliver(published(assigned, event))
    assert len(notifier.to(AGENT.email or "")) == 2  # first response and resolution
    assert len(notifier.to(ONCALL)) == 3


async def test_unacknowledged_critical_escalates_to_on_call(notifier: Notifier) -> None:
    t = ticket(priority=Priority.CRITICAL)
    events = t.check_sla(MONDAY_9 + timedelta(minutes=15))
    escalation = [published(t, e) for e in events]
    escalation = [e for e in escalation if e.event_type == "TicketEscalated"]
    await notifier.deliver(escalation[0])
    (mail,) = [m for m in notifier.to(ONCALL) if "ΚΛΙΜΑΚΩΣΗ" in str(m["Subject"])]
    assert "HD-2026-000042" in str(mail["Subject"])

"""An erased person in the notifier, against a real PostgreSQL (issue 30;
docs/privacy.md, "Erasure in the notifier and the mailgate"): the mails to
Eleni, the agent's mails about her ticket, the webhook deliveries about it, a
row and a body recorded before the notifier knew whose they were, a dead letter
of hers in plaintext and the alert address of the webhook she registered keep
nothing of her once PersonalDataErased is handled — no column of any table of
the schema holds her marker, no mail left to send says it — while Kostas's are
untouched; the scrub waits for the key caches first (NotYet)."""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.identity import PasswordChanged
from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.contracts.tickets import (
    Contact,
    SlaSchedule,
    TicketMessageAdded,
    TicketStatus,
    TicketSubmitted,
)
from helpdesk.contracts.webhooks import RegisterWebhook, WebhookEventType
from helpdesk.notifier.adapters.erasure import Concerned
from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.adapters.webhook_store import PostgresWebhooks, RecordedDeliveries
from helpdesk.notifier.bootstrap import IDENTITY_MAILS, TICKET_MAILS, all_consumers
from helpdesk.notifier.handlers.webhooks import WEBHOOK_HANDLERS, WebhookDeps
from helpdesk.servicekit.consumer import EventConsumer, handle_once
from helpdesk.servicekit.erasure import NotYet
from helpdesk.servicekit.events import Delivery, on_events
from tests.integration.mailgate.test_erasure import places_holding
from tests.schemas import migrated_pool
from tests.servers import Servers
from tests.unit.notifier.fakes import settings
from tests.unit.notifier.test_webhooks import submitted as a_submitted_ticket

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ELENI = Contact(user_id=uuid.uuid4(), name="Eleni Elenimark", email="elenimark@example.org")
KOSTAS = Contact(user_id=uuid.uuid4(), name="Kostas Kostasmark", email="kostasmark@example.org")
AGENT = Contact(user_id=uuid.uuid4(), name="Agent Smith", email="agent@company.example")
ADMIN = uuid.uuid4()


def submitted(requester: Contact, marker: str) -> TicketSubmitted:
    return a_submitted_ticket().model_copy(
        update={
            "at": NOW,
            "requester_id": requester.user_id,
            "requester": requester,
            "subject_line": f"{marker} printer",
            "description": f"{marker} does not print.",
        }
    )


def her_reply(ticket: TicketSubmitted, text: str) -> TicketMessageAdded:
    """The requester's reply, mailed to the ticket's agent."""
    return TicketMessageAdded(
        ticket_id=ticket.ticket_id,
        number=ticket.number,
        at=NOW,
        requester_id=ticket.requester.user_id,
        message_id=uuid.uuid4(),
        author=ticket.requester,
        by_agent=False,
        body=text,
        internal=False,
        requester=ticket.requester,
        assignee=AGENT,
        status=TicketStatus.OPEN,
        sla=SlaSchedule(),
    )


def envelope(event: EventData) -> EventEnvelope:
    return EventEnvelope.wrap(event, correlation_id="erasure-test")


class Notifier:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        consumers = all_consumers(Mailer(settings()))
        self.by_name = {c.name: c for c in consumers}

        def webhook_deps(delivery: Delivery) -> WebhookDeps:  # as bootstrap.serve_webhooks
            people = Concerned.of(delivery.envelope).people
            return WebhookDeps(
                RecordedDeliveries(delivery.conn, delivery.event_id, NOW, 3600, people)
            )

        self.webhooks = on_events("w", WEBHOOK_HANDLERS, deps=webhook_deps, inbox=False)

    async def handle(self, consumer: str | EventConsumer, event: EventData) -> None:
        bound = self.by_name[consumer] if isinstance(consumer, str) else consumer
        await handle_once(self.pool, bound, envelope(event))

    async def ticket_event(self, event: EventData) -> None:
        await self.handle(TICKET_MAILS, event)
        await self.handle(self.webhooks, event)

    async def erase(self, at: datetime) -> None:
        event = PersonalDataErased(user_id=ELENI.user_id, erased_at=at, reason="admin", by=ADMIN)
        await self.handle(IDENTITY_MAILS, event)

    async def pending_texts(self) -> list[str]:
        """Every mail waiting to be sent, decoded: its subject and text."""
        rows = await self.pool.fetch("SELECT message FROM deliveries WHERE message IS NOT NULL")
        texts = []
        for row in rows:
            message = email.message_from_bytes(bytes(row["message"]), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            body = message.get_body(preferencelist=("plain",))
            assert isinstance(body, EmailMessage)
            texts.append(f"{message['Subject']}\n{message['To']}\n{body.get_content()}")
        return texts


@pytest.fixture
async def notifier(servers: Servers) -> AsyncIterator[Notifier]:
    _, pool = await migrated_pool(servers.database_url, "notifier", prefix="ne")
    yield Notifier(pool)
    await pool.close()


async def register(pool: asyncpg.Pool, by: uuid.UUID, alert_email: str) -> None:
    command = RegisterWebhook(
        actor=Actor(user_id=by, roles=[Role.ADMIN], session_id="s"),
        url="https://hooks.example/in",
        event_types=list(WebhookEventType),
        alert_email=alert_email,
    )
    await PostgresWebhooks(pool).create(command, "whsec_c2VjcmV0")


async def recorded_before_erasure_was_built(pool: asyncpg.Pool, ticket: TicketSubmitted) -> None:
    """A sent mail and a personal webhook body about her, without whose they are."""
    await pool.execute(
        "INSERT INTO deliveries (event_id, recipient, template, message_id, status, attachments)"
        " VALUES ($1, $2, 'ticket_files', '<old@helpdesk>', 'sent', $3)",
        uuid.uuid4(),
        ELENI.email,
        [{"sha256": "a" * 64, "file_name": "elenimark.pdf", "content_type": "application/pdf"}],
    )
    requester = {"user_id": str(ELENI.user_id), "name": "Elenimark"}
    body = {"type": "ticket.submitted.personal", "data": {"requester": requester}}
    await pool.execute(
        "INSERT INTO webhook_deliveries (delivery_id, webhook_id, event_id, event_type, body,"
        " retry_until) SELECT gen_random_uuid(), webhook_id, $1, $2, $3, now() FROM webhooks"
        " LIMIT 1",
        ticket.ticket_id,
        WebhookEventType.TICKET_SUBMITTED_PERSONAL.value,
        json.dumps(body).encode(),
    )


async def parked_in_plaintext(pool: asyncpg.Pool, event: EventData) -> None:
    """A dead letter parked before events were sealed."""
    parked = envelope(event)
    await pool.execute(
        "INSERT INTO dead_letters (consumer, event_id, subject, payload, headers, error,"
        " deliveries) VALUES ('notifier-ticket-mails', $1, 's', $2, '{}', 'e', 5)",
        parked.event_id,
        parked.model_dump_json().encode(),
    )


async def test_an_erased_persons_mails_and_deliveries_keep_nothing_of_her(
    notifier: Notifier,
) -> None:
    pool = notifier.pool
    await register(pool, ADMIN, "admin@company.example")
    await register(pool, ELENI.user_id, "elenimark@example.org")  # she was an admin
    hers, his = submitted(ELENI, "Elenimark"), submitted(KOSTAS, "Kostasmark")
    for event in (hers, his):
        await notifier.ticket_event(event)
    await notifier.handle(
        IDENTITY_MAILS,
        PasswordChanged(
            user_id=ELENI.user_id,
            username="elenimark",
            name=ELENI.name or "",
            email=ELENI.email or "",
            locale="el",
            changed_at=NOW,
        ),
    )
    await notifier.ticket_event(her_reply(hers, "Elenimark: sent already"))
    await pool.execute(  # the sender sent the agent's first mail about her ticket
        "UPDATE deliveries SET status = 'sent', message = NULL, attachments = $2"
        " WHERE recipient = $1",
        AGENT.email,
        [{"sha256": "b" * 64, "file_name": "elenimark-scan.png", "content_type": "image/png"}],
    )
    await notifier.ticket_event(her_reply(hers, "Elenimark: waits to be sent"))
    await recorded_before_erasure_was_built(pool, hers)
    await parked_in_plaintext(pool, hers)
    assert any("elenimark" in text.lower() for text in await notifier.pending_texts())
    assert await places_holding(pool, "elenimark")
    kostas_before = await pool.fetch(
        "SELECT * FROM deliveries WHERE recipient = $1 ORDER BY id", KOSTAS.email
    )

    with pytest.raises(NotYet):  # a replica may still open her data
        await notifier.erase(datetime.now(UTC))
    assert await places_holding(pool, "elenimark")

    await notifier.erase(datetime.now(UTC) - timedelta(hours=1))
    assert await places_holding(pool, "elenimark") == []
    assert not any("elenimark" in text.lower() for text in await notifier.pending_texts())
    agent_rows = await pool.fetch("SELECT * FROM deliveries WHERE recipient = $1", AGENT.email)
    assert [(r["status"], r["attachments"]) for r in agent_rows] == [("sent", None)]
    assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0
    alerts = await pool.fetch("SELECT created_by, alert_email FROM webhooks ORDER BY created_by")
    assert {r["created_by"]: r["alert_email"] for r in alerts} == {
        ADMIN: "admin@company.example",
        ELENI.user_id: None,
    }
    # Kostas's mail and his personal webhook deliveries are as they were.
    kostas_after = await pool.fetch(
        "SELECT * FROM deliveries WHERE recipient = $1 ORDER BY id", KOSTAS.email
    )
    assert kostas_after == kostas_before
    assert any("kostasmark" in text.lower() for text in await notifier.pending_texts())
    assert await places_holding(pool, "kostasmark")
    personal = await pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE event_type LIKE '%.personal'"
        " AND position(convert_to('Kostasmark', 'UTF8') IN body) > 0"
    )
    assert personal == 2  # one per endpoint


async def test_her_identity_event_handled_after_the_erasure_mails_nobody(
    notifier: Notifier,
) -> None:
    """Opened after her key went, the event's address is empty: no mail is recorded."""
    event: dict[str, Any] = {"user_id": ELENI.user_id, "username": "", "name": "", "email": ""}
    await notifier.handle(IDENTITY_MAILS, PasswordChanged(**event, locale="el", changed_at=NOW))
    assert await notifier.pool.fetchval("SELECT count(*) FROM deliveries") == 0

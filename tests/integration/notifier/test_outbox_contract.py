"""One contract for the notifier's `Outbox` port, run against its fake
(tests/unit/notifier/fakes.py) and its PostgreSQL adapter (the mail queue):
so the use-case tests' fake cannot drift from what the service really does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.identity import UserActivated
from helpdesk.notifier.adapters.compose import MailComposer, message_id_for
from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.adapters.outbox import QueuedMails
from helpdesk.notifier.domain.files import MailFile
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.notifier.handlers.deps import Outbox
from tests.schemas import migrated_pool
from tests.servers import Servers
from tests.unit.notifier.fakes import RecordingOutbox, settings

pytestmark = pytest.mark.integration

# (the outbox of an event id, what is recorded: event id, recipient, template, Message-ID, files)
Backend = tuple[Callable[[uuid.UUID], Outbox], Callable[[], Any]]


def envelope_of(event_id: uuid.UUID) -> EventEnvelope:
    event = UserActivated.model_construct(user_id=uuid.uuid4(), username="m")
    return EventEnvelope(
        event_id=event_id,
        event_type="UserActivated",
        schema_version=1,
        producer="identity",
        correlation_id="c",
        data=event.model_dump(mode="json"),
    )


@pytest.fixture(params=["fake", "postgres"])
async def backend(request: pytest.FixtureRequest, servers: Servers) -> AsyncIterator[Backend]:
    configured = settings()
    if request.param == "fake":
        shared: dict[Any, Any] = {}
        composer = MailComposer(configured)

        async def recorded_fake() -> list[tuple[Any, ...]]:
            return sorted(
                (event_id, to, template, m.message_id, len(m.attachments))
                for (event_id, to, template), m in shared.items()
            )

        yield (
            (lambda event_id: RecordingOutbox(composer, envelope_of(event_id), shared)),
            recorded_fake,
        )
        return
    _, pool = await migrated_pool(servers.database_url, "notifier", prefix="oc", max_size=4)
    mailer = Mailer(configured)
    conn: asyncpg.Connection = await pool.acquire()

    async def recorded_postgres() -> list[tuple[Any, ...]]:
        rows = await pool.fetch(
            "SELECT event_id, recipient, template, message_id,"
            " coalesce(jsonb_array_length(attachments), 0) AS files FROM deliveries"
        )
        return sorted(tuple(r.values()) for r in rows)

    try:
        yield (lambda event_id: QueuedMails(mailer, conn, event_id)), recorded_postgres
    finally:
        await pool.release(conn)
        await pool.close()


def a_mail(to: str = "maria@example.org", template: str = "password_changed") -> OutgoingMail:
    return OutgoingMail(
        to=to,
        template=template,
        locale="el",
        context={"name": "Μαρία", "username": "maria", "changed_at": "-", "link": "https://x/"},
    )


async def test_a_mail_is_recorded_once_per_event_recipient_and_template(backend: Backend) -> None:
    outbox_of, recorded = backend
    first, second = uuid.uuid4(), uuid.uuid4()
    assert await outbox_of(first).mail(a_mail()) is True
    # The same event again (a redelivery, through a new outbox): nothing more.
    assert await outbox_of(first).mail(a_mail()) is False
    assert await outbox_of(first).mail(a_mail(to="Maria@Example.ORG")) is False
    # Another template, recipient or event: a mail of its own.
    assert await outbox_of(first).mail(a_mail(template="username_reminder")) is True
    assert await outbox_of(first).mail(a_mail(to="kostas@example.org")) is True
    assert await outbox_of(second).mail(a_mail()) is True
    rows = await recorded()
    assert len(rows) == 4
    assert (first, "maria@example.org", "password_changed") in [r[:3] for r in rows]


async def test_the_message_id_is_the_event_recipient_and_template_s(backend: Backend) -> None:
    outbox_of, recorded = backend
    event_id = uuid.uuid4()
    await outbox_of(event_id).mail(a_mail())
    [(_, to, template, message_id, files_count)] = await recorded()
    assert message_id == message_id_for(event_id, to, template)
    assert files_count == 0


async def test_files_are_recorded_as_references(backend: Backend) -> None:
    outbox_of, recorded = backend
    mail = a_mail()
    with_files = OutgoingMail(
        **{**mail.parts(), "attachments": (MailFile("a" * 64, "οδηγίες.pdf", "application/pdf"),)}
    )
    await outbox_of(uuid.uuid4()).mail(with_files)
    [row] = await recorded()
    assert row[4] == 1

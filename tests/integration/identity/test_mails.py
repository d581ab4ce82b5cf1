"""The notifier's identity mails, through the idempotent consumer path and the
sender loop, to a real SMTP sink: wording per locale, links, once-only
delivery, no header injection, mail that waits out an SMTP outage; sealed
tokens opened with the current or the previous key, schema-1 events still
mailed, a token sealed to a stranger's key refused without quoting it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Role
from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.devstack.servers import MailSink
from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.adapters.queue import MailQueue
from helpdesk.notifier.adapters.sender import MailSender
from helpdesk.notifier.bootstrap import IDENTITY_MAILS, all_consumers, deps_factory, mail_sender
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit import sealing
from helpdesk.servicekit.consumer import EventConsumer, handle_once
from helpdesk.servicekit.sealing import Sealer, Unsealable
from tests.mails import html_of, notifier_settings, text_of
from tests.schemas import migrated_pool
from tests.servers import Servers
from tests.tokens import seal_private_key, seal_public_key

pytestmark = pytest.mark.integration

FAQ_EL = Path("/work/shared/seed/helpdesk-faq.el.txt")
NOW = datetime.now(UTC)
seal = Sealer(seal_public_key()).seal


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    running = MailSink(tmp_path / "mail").start()
    yield running
    running.stop()


@pytest.fixture
async def notifier(servers: Servers, sink: MailSink) -> Any:
    schema, pool = await migrated_pool(servers.database_url, "notifier", prefix="nt")
    settings = notifier_settings(sink, mail_retry_first_seconds=0.2, smtp_timeout=2.0)
    consumer = next(c for c in all_consumers(Mailer(settings)) if c.name == IDENTITY_MAILS)
    yield Notifier(pool, consumer, mail_sender(settings, MailQueue(pool), schema))
    await pool.close()


@dataclass
class Notifier:
    pool: asyncpg.Pool
    consumer: EventConsumer
    sender: MailSender


async def deliver(notifier: Notifier, event: EventData) -> EventEnvelope:
    envelope = EventEnvelope.wrap(event, correlation_id="corr-1", occurred_at=NOW)
    assert await handle_once(notifier.pool, notifier.consumer, envelope)
    await notifier.sender.drain()
    return envelope


def registered(locale: contract.Locale, **overrides: Any) -> contract.UserRegistered:
    values: dict[str, Any] = {
        "user_id": uuid.uuid4(),
        "name": "Μαρία Παπαδοπούλου",
        "username": "maria",
        "email": "maria@example.gr",
        "locale": locale,
        "roles": [Role.CUSTOMER],
        "registered_at": NOW,
        "sealed_activation_token": seal("tok-en_123"),
        "activation_expires_at": NOW + timedelta(hours=48),
        **overrides,
    }
    return contract.UserRegistered(**values)


async def test_greek_activation_mail_carries_the_faq_wording_and_link(
    notifier: Any, sink: MailSink
) -> None:
    envelope = await deliver(notifier, registered("el"))
    (mail,) = sink.messages()
    assert str(mail["Subject"]) == "Ενεργοποίηση λογαριασμού στο IPtech Helpdesk"
    body = text_of(mail)
    faq = FAQ_EL.read_text(encoding="utf-8") if FAQ_EL.exists() else ""
    wording = (
        "πριν μπορέσετε να συνδεθείτε, πρέπει να ενεργοποιήσετε το λογαριασμό "
        "ακολουθώντας το σύνδεσμο ενεργοποίησης"
    )
    assert "Ο λογαριασμός σας έχει δημιουργηθεί" in body
    assert wording in body
    if faq:
        assert wording in faq
    assert "https://helpdesk.example/helpdesk/el/activate?token=tok-en_123" in body
    assert 'href="https://helpdesk.example/helpdesk/el/activate?token=tok-en_123"' in html_of(mail)
    assert "48" in body
    assert str(envelope.event_id) in str(mail["Message-ID"])
    assert "Μαρία" in str(mail["To"])


async def deliver_account_mails(notifier: Notifier, user: dict[str, Any], reset: str) -> None:
    """The account mails besides activation: a reset link (token `reset`), the
    username reminder, a changed password, an attempt to register the address again."""
    for event in (
        contract.RecoveryRequested(
            **user,
            kind="password",
            sealed_reset_token=seal(reset),
            expires_at=NOW + timedelta(hours=1),
        ),
        contract.RecoveryRequested(**user, kind="username"),
        contract.PasswordChanged(**user, changed_at=NOW),
        contract.RegistrationAttemptedForExistingEmail(**user, attempted_at=NOW),
    ):
        await deliver(notifier, event)


async def test_english_mails_follow_the_locale(notifier: Any, sink: MailSink) -> None:
    await deliver(notifier, registered("en", email="john@example.org", name="John"))
    john = {
        "user_id": uuid.uuid4(),
        "name": "John",
        "username": "john.smith",
        "email": "john@example.org",
        "locale": "en",
    }
    await deliver_account_mails(notifier, john, reset="reset-1")
    subjects = sorted(str(m["Subject"]) for m in sink.messages())
    assert subjects == sorted(
        [
            "Activate your IPtech Helpdesk account",
            "Reset your IPtech Helpdesk password",
            "Your IPtech Helpdesk username",
            "Your IPtech Helpdesk password was changed",
            "Someone tried to register with your address at IPtech Helpdesk",
        ]
    )
    texts = {str(m["Subject"]): text_of(m) for m in sink.messages()}
    assert (
        "/helpdesk/en/reset-password?token=reset-1" in texts["Reset your IPtech Helpdesk password"]
    )
    assert "60 minutes" in texts["Reset your IPtech Helpdesk password"]
    assert "Username: john.smith" in texts["Your IPtech Helpdesk username"]


async def test_every_greek_template_renders(notifier: Any, sink: MailSink) -> None:
    user = {
        "user_id": uuid.uuid4(),
        "name": "Νίκος",
        "username": "nikos",
        "email": "nikos@example.gr",
        "locale": "el",
    }
    await deliver(
        notifier,
        contract.ActivationResent(
            **user,
            sealed_activation_token=seal("t2"),
            activation_expires_at=NOW + timedelta(hours=48),
        ),
    )
    await deliver_account_mails(notifier, user, reset="r")
    mails = sink.messages()
    assert len(mails) == 5
    for mail in mails:
        assert "Όνομα σύνδεσης" in text_of(mail) or "σύνδεσμο" in text_of(mail)
    assert any("Όνομα σύνδεσης: nikos" in text_of(m) for m in mails)


async def test_a_redelivered_event_sends_nothing_new(notifier: Notifier, sink: MailSink) -> None:
    envelope = EventEnvelope.wrap(registered("el"), correlation_id="c")
    await handle_once(notifier.pool, notifier.consumer, envelope)
    await handle_once(notifier.pool, notifier.consumer, envelope)  # its mail's key is taken
    assert await notifier.pool.fetchval("SELECT count(*) FROM inbox") == 0  # no inbox needed
    assert await notifier.sender.drain() == 1
    assert await notifier.sender.drain() == 0
    assert len(sink.messages()) == 1


async def test_events_without_mail_are_handled_quietly(notifier: Any, sink: MailSink) -> None:
    await deliver(
        notifier, contract.UserActivated(user_id=uuid.uuid4(), username="x", activated_at=NOW)
    )
    await deliver(notifier, contract.RolesChanged(user_id=uuid.uuid4(), roles=[Role.AGENT]))
    await deliver(
        notifier, registered("el", sealed_activation_token=None, activation_expires_at=None)
    )
    assert sink.messages() == []


async def test_line_breaks_in_a_name_never_reach_a_header(notifier: Any, sink: MailSink) -> None:
    await deliver(notifier, registered("en", name="Eve\r\nBcc: victim@example.org"))
    (mail,) = sink.messages()
    assert mail["Bcc"] is None
    assert "\n" not in str(mail["To"])
    headers = mail.as_string().split("\n\n", 1)[0]
    assert "\nBcc:" not in headers


async def test_smtp_down_delays_the_mail_and_it_is_sent_once_when_it_returns(
    notifier: Notifier, sink: MailSink
) -> None:
    envelope = EventEnvelope.wrap(registered("el"), correlation_id="c")
    sink.stop()
    # The event is handled at once: the mail is recorded, not sent in the transaction.
    assert await handle_once(notifier.pool, notifier.consumer, envelope)
    assert await notifier.sender.drain() == 1  # refused: retried later
    row = await notifier.pool.fetchrow("SELECT status, attempts, last_error FROM deliveries")
    assert row is not None
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "SMTPConnect" in row["last_error"]
    sink.start()
    deadline = asyncio.get_running_loop().time() + 10
    while not sink.messages() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        await notifier.sender.drain()
    await handle_once(notifier.pool, notifier.consumer, envelope)  # redelivered: nothing new
    assert await notifier.sender.drain() == 0
    (mail,) = sink.messages()
    assert str(envelope.event_id) in str(mail["Message-ID"])
    row = await notifier.pool.fetchrow("SELECT status, message FROM deliveries")
    assert row is not None
    assert (row["status"], row["message"]) == ("sent", None)  # the activation link is gone


async def test_a_token_sealed_to_the_previous_key_still_opens_during_a_rotation(
    servers: Servers, sink: MailSink
) -> None:
    previous_private, previous_public = sealing.generate()
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        public_url="https://helpdesk.example",
        notifier_seal_private_key=seal_private_key(),
        notifier_seal_previous_private_key=previous_private,
    )
    opener = deps_factory(Mailer(settings)).keywords["opener"]  # what each event's Deps get
    assert opener.open(Sealer(previous_public).seal("old-key")) == "old-key"
    assert opener.open(seal("new-key")) == "new-key"


async def test_a_schema_1_event_still_on_the_stream_is_mailed_with_its_raw_token(
    notifier: Any, sink: MailSink
) -> None:
    """Published before tokens were sealed: the upgrade loses no activation mail."""
    data = registered("en").model_dump(mode="json")
    data.pop("sealed_activation_token")
    envelope = EventEnvelope(
        event_type="UserRegistered",
        schema_version=1,
        producer="identity",
        correlation_id="corr-v1",
        occurred_at=NOW,
        data={**data, "activation_token": "raw-v1_token"},
    )
    assert await handle_once(notifier.pool, notifier.consumer, envelope)
    await notifier.sender.drain()
    (mail,) = sink.messages()
    assert "https://helpdesk.example/helpdesk/en/activate?token=raw-v1_token" in text_of(mail)


async def test_a_token_sealed_to_another_key_fails_without_quoting_it(
    notifier: Any, sink: MailSink
) -> None:
    _, stranger = sealing.generate()
    sealed = Sealer(stranger).seal("not-for-us")
    envelope = EventEnvelope.wrap(
        registered("el", sealed_activation_token=sealed), correlation_id="c", occurred_at=NOW
    )
    with pytest.raises(Unsealable) as refused:
        await handle_once(notifier.pool, notifier.consumer, envelope)
    assert sealed not in repr(refused.value)
    assert "not-for-us" not in repr(refused.value)
    await notifier.sender.drain()
    assert sink.messages() == []

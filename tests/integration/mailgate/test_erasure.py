"""An erased person's mails in the mailgate, against a real PostgreSQL (issue 30;
docs/privacy.md, "Erasure in the notifier and the mailgate"): the mails kept of
Eleni (hers, an agent's answer on her ticket, one that died, one that created
nothing, one still waiting) keep nothing of her once PersonalDataErased is
handled — no column of any table of the schema holds her marker — while
Kostas's mail is untouched; the scrub waits for the key caches first, and a
mail of hers answered after it is stored blank."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import asyncpg
import pytest

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.mail import thread_reference
from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    MessageAdded,
    ReplyFromMail,
    SubmitFromMail,
    Submitted,
    TicketStatus,
)
from helpdesk.mailgate.adapters.erasure import erasure_consumer
from helpdesk.mailgate.adapters.store import PostgresMailStore
from helpdesk.mailgate.handlers.deps import Deps, MailPolicy
from helpdesk.mailgate.handlers.process import MailWorker
from helpdesk.servicekit.clock import SystemClock
from helpdesk.servicekit.consumer import handle_once
from helpdesk.servicekit.erasure import NotYet
from tests.integration.mailgate.conftest import SUPPORT

pytestmark = pytest.mark.integration

KEY = b"k" * 32
ELENI, KOSTAS, AGENT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
USERS = {
    "elenimark@company.example": ELENI,
    "kostasmark@company.example": KOSTAS,
    "agent@company.example": AGENT,
}
ELENIS_TICKET = uuid.uuid4()


class Tickets:
    """The tickets service's mail answers, naming whose each mail is; a subject
    saying `refuse:<code>` is refused so."""

    async def submit(self, command: SubmitFromMail) -> Submitted:
        if command.subject.startswith("refuse:"):
            raise Refused("refused", code=command.subject.removeprefix("refuse:").split()[0])
        return Submitted(
            ticket_id=ELENIS_TICKET if USERS[command.sender] == ELENI else uuid.uuid4(),
            number="HD-2026-000001",
            status=TicketStatus.SUBMITTED,
            priority="normal",
            queue="service-desk",
            first_response_due=None,
            resolution_due=None,
            requester_id=USERS[command.sender],
        )

    async def reply(self, command: ReplyFromMail) -> MessageAdded:
        assert command.ticket_id == ELENIS_TICKET
        return MessageAdded(
            ticket_id=ELENIS_TICKET,
            message_id=uuid.uuid4(),
            status=TicketStatus.OPEN,
            author_id=USERS[command.sender],
            requester_id=ELENI,
        )

    async def attach(self, command: object) -> object:
        raise AssertionError("no mail here has files")


def a_mail(sender: str, subject: str, body: str, in_reply_to: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = SUPPORT[0]
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid.uuid4()}@client.example>"
    if in_reply_to is not None:
        mail["In-Reply-To"] = in_reply_to
    mail.set_content(body)
    return mail.as_bytes()


async def places_holding(pool: asyncpg.Pool, marker: str) -> list[str]:
    """`table.column` of every value in the pool's schema that holds `marker` (any
    case; bytea read as text, so raw mails and dead letters are searched too)."""
    columns = await pool.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    found = []
    for column in columns:
        name = f'"{column["table_name"]}"."{column["column_name"]}"'
        value = f"encode({name}, 'escape')" if column["data_type"] == "bytea" else f"{name}::text"
        if await pool.fetchval(
            f'SELECT count(*) FROM "{column["table_name"]}" WHERE lower({value}) LIKE $1',
            f"%{marker.lower()}%",
        ):
            found.append(name)
    return found


def erased(at: datetime) -> EventEnvelope:
    event = PersonalDataErased(user_id=ELENI, erased_at=at, reason="admin", by=uuid.uuid4())
    return EventEnvelope.wrap(event, correlation_id="erasure")


@pytest.fixture
def worker(store: PostgresMailStore) -> MailWorker:
    """Processes the kept mails with the tickets service's answers above (no files)."""
    policy = MailPolicy(reply_key=KEY, support=SUPPORT, own=SUPPORT)
    return MailWorker(Deps(store, Tickets(), SystemClock(), policy, files=None))  # type: ignore[arg-type]


async def test_an_erased_persons_mails_keep_nothing_of_her_and_others_are_untouched(
    mail_pool: asyncpg.Pool, store: PostgresMailStore, worker: MailWorker
) -> None:

    async def keep(raw: bytes, envelope_from: str | None = None) -> uuid.UUID:
        kept = await store.keep(raw, envelope_from=envelope_from, recipients=SUPPORT, source="smtp")
        return kept.mail_id

    first = a_mail("Eleni <elenimark@company.example>", "ELENIMARK printer", "ELENIMARK body")
    await keep(first)
    answer = a_mail(  # an agent's answer on her ticket, quoting her
        "agent@company.example",
        "Re: ELENIMARK printer",
        "> ELENIMARK body\nTry again.",
        in_reply_to=thread_reference(SUPPORT[0], KEY, ELENIS_TICKET),
    )
    await keep(answer)
    await keep(a_mail("elenimark@company.example", "refuse:forbidden ELENIMARK", "dies"))
    await keep(a_mail("elenimark@company.example", "refuse:unknown_sender ELENIMARK", "told"))
    await keep(a_mail("Kostas <kostasmark@company.example>", "KOSTASMARK scanner", "KOSTASMARK"))
    assert await worker.run_once() == 5
    assert await mail_pool.fetchval("SELECT count(*) FROM dead_letters") == 1
    assert await mail_pool.fetchval("SELECT count(*) FROM explanations") == 1
    waiting = await keep(a_mail("elenimark@company.example", "ELENIMARK again", "ELENIMARK"))
    assert await places_holding(mail_pool, "elenimark")

    consumer = erasure_consumer()
    with pytest.raises(NotYet):  # a replica may still open her data: not yet
        await handle_once(mail_pool, consumer, erased(datetime.now(UTC)))
    assert await mail_pool.fetchval("SELECT count(*) FROM erased_people") == 0

    assert await handle_once(mail_pool, consumer, erased(datetime.now(UTC) - timedelta(hours=1)))
    assert await places_holding(mail_pool, "elenimark") == []
    assert await mail_pool.fetchval("SELECT count(*) FROM dead_letters") == 0
    assert await mail_pool.fetchval("SELECT count(*) FROM explanations") == 0
    assert await mail_pool.fetchval("SELECT status FROM mails WHERE mail_id = $1", waiting) == (
        "erased"
    )
    assert await worker.run_once() == 0  # her waiting mail is not processed
    kostas = await mail_pool.fetchrow("SELECT * FROM mails WHERE user_id = $1", KOSTAS)
    assert kostas is not None
    assert kostas["status"] == "done"
    assert kostas["sender"] == "kostasmark@company.example"
    assert b"KOSTASMARK scanner" in bytes(kostas["raw"])
    assert (
        await store.keep(first, envelope_from=None, recipients=SUPPORT, source="imap")
    ).duplicate


async def test_a_mail_of_hers_answered_after_the_erasure_is_stored_blank(
    mail_pool: asyncpg.Pool, store: PostgresMailStore, worker: MailWorker
) -> None:
    """Her mail waited out a tickets outage; the tickets service answered it with
    her id after the mailgate had scrubbed: nothing of it is kept."""
    assert await handle_once(
        mail_pool, erasure_consumer(), erased(datetime.now(UTC) - timedelta(hours=1))
    )
    late = a_mail("elenimark@company.example", "ELENIMARK late", "ELENIMARK late body")
    await store.keep(late, envelope_from=None, recipients=SUPPORT, source="imap")
    assert await worker.run_once() == 1
    assert await places_holding(mail_pool, "elenimark") == []
    assert await mail_pool.fetchval("SELECT status FROM mails") == "erased"

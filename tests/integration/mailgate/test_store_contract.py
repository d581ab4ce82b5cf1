"""One contract for the mailgate's `MailStore` port (handlers/deps.py), run against
the in-memory fake the use-case tests use (tests/unit/mailgate/fakes.py) and the
PostgreSQL adapter (adapters/store.py): one mail per Message-ID / SHA-256, leases
and back-offs, outcomes, and a sender's processed mails. The fake's time is a
clock that stands still, PostgreSQL's is now(): no case waits for either to move
(a delay is 0 or an hour, a window an hour wide)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import UUID, uuid4

import pytest

from helpdesk.mailgate.handlers.deps import MailStore, Outcome, StoredMail
from helpdesk.servicekit.clock import Clock, ManualClock, SystemClock
from tests.unit.mailgate.fakes import FakeStore

pytestmark = pytest.mark.integration

SUPPORT = "helpdesk@company.example"
MARIA = "maria@company.example"
HOUR = timedelta(hours=1)


@dataclass
class Backend:
    name: str
    store: MailStore
    clock: Clock  # the store's time

    async def keep(
        self, raw: bytes, envelope_from: str | None = MARIA, recipients: Sequence[str] = (SUPPORT,)
    ) -> UUID:
        kept = await self.store.keep(
            raw, envelope_from=envelope_from, recipients=recipients, source="smtp"
        )
        assert not kept.duplicate
        return kept.mail_id

    async def claimed(self, limit: int = 10) -> set[UUID]:
        """The ids of the mails claimed (in no promised order)."""
        return {mail.mail_id for mail in await self.store.claim(limit)}

    async def processed(self, raw: bytes, status: str = "done", sender: str = MARIA) -> UUID:
        """A mail kept, claimed and finished with `status`, `sender` its From."""
        mail_id = await self.keep(raw)
        (mail,) = await self.store.claim(1)
        assert mail.mail_id == mail_id
        await self.store.finish(mail, Outcome(status, "x", sender=sender))
        return mail_id


@pytest.fixture(params=["fake", "postgres"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        clock = ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC))
        return Backend("fake", FakeStore(clock), clock)
    # conftest's store on a fresh schema; the test servers' PostgreSQL runs here,
    # so its now() is this machine's clock.
    return Backend("postgres", request.getfixturevalue("store"), SystemClock())


def a_mail(message_id: str | None = None, body: str = "Ο εκτυπωτής χάλασε.") -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Μαρία <{MARIA}>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Εκτυπωτής"
    if message_id is not None:
        mail["Message-ID"] = message_id
    mail.set_content(body)
    return mail.as_bytes()


def some_mail() -> bytes:
    """A mail of its own (its own Message-ID)."""
    return a_mail(f"<{uuid4()}@client.example>")


# --- keep -----------------------------------------------------------------------------


async def test_a_mail_is_kept_once_by_its_message_id_or_else_its_bytes(backend: Backend) -> None:
    store = backend.store
    first = await backend.keep(a_mail("<m1@client.example>"))
    again = await store.keep(
        a_mail("<m1@client.example>"), envelope_from=MARIA, recipients=(SUPPORT,), source="smtp"
    )
    assert (again.mail_id, again.duplicate) == (first, True)
    # Delivered a second way: other bytes (another Received line), the same Message-ID.
    relayed = b"Received: by relay2\r\n" + a_mail("<m1@client.example>")
    by_id = await store.keep(relayed, envelope_from=None, recipients=(), source="imap")
    assert (by_id.mail_id, by_id.duplicate) == (first, True)
    # Without a Message-ID a mail is recognised by its bytes alone.
    bare = await backend.keep(a_mail(body="no id"))
    bare_again = await store.keep(
        a_mail(body="no id"), envelope_from=MARIA, recipients=(SUPPORT,), source="lmtp"
    )
    assert (bare_again.mail_id, bare_again.duplicate) == (bare, True)
    other = await backend.keep(a_mail(body="another, no id either"))
    assert await backend.claimed() == {first, bare, other}


async def test_a_claimed_mail_comes_as_it_was_kept_with_its_attempt(backend: Backend) -> None:
    raw = some_mail()
    bounce = await backend.keep(raw, envelope_from="", recipients=("HelpDesk@Company.example",))
    assert await backend.store.claim(10) == [
        StoredMail(bounce, raw, "", ("helpdesk@company.example",), attempts=1)
    ]
    by_imap = await backend.keep(some_mail(), envelope_from=None, recipients=())
    (mail,) = await backend.store.claim(10)
    assert (mail.mail_id, mail.envelope_from, mail.recipients) == (by_imap, None, ())


# --- claim ----------------------------------------------------------------------------


async def test_a_leased_mail_is_not_claimed_again_and_the_oldest_come_first(
    backend: Backend,
) -> None:
    oldest, older, newest = [await backend.keep(some_mail()) for _ in range(3)]
    assert await backend.claimed(2) == {oldest, older}
    assert await backend.claimed(2) == {newest}
    assert await backend.claimed(2) == set()
    assert await backend.store.claim(0) == []


async def test_workers_claiming_at_once_never_share_a_mail(backend: Backend) -> None:
    kept = {await backend.keep(some_mail()) for _ in range(6)}
    batches = await asyncio.gather(*(backend.store.claim(2) for _ in range(4)))
    claimed = [mail.mail_id for batch in batches for mail in batch]
    assert len(claimed) == len(set(claimed))
    # None lost either: what the four did not take is still there to claim.
    assert set(claimed) | await backend.claimed() == kept


# --- retry_later ----------------------------------------------------------------------


async def test_a_mail_put_back_is_claimed_after_its_delay_behind_those_waiting(
    backend: Backend,
) -> None:
    store = backend.store
    first = await backend.keep(some_mail())
    second = await backend.keep(some_mail())
    (mail,) = await store.claim(1)
    assert mail.mail_id == first
    await store.retry_later(mail, "tickets: TimeoutError", 0)
    # Its delay has passed at once, but the mail waiting since before comes first.
    assert await backend.claimed(1) == {second}
    (again,) = await store.claim(1)
    assert (again.mail_id, again.attempts) == (first, 2)
    await store.retry_later(again, "tickets: unavailable", 3600)
    assert await store.claim(10) == []


# --- finish ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["done", "ignored", "dead"])
async def test_a_finished_mail_is_never_claimed_again_even_delivered_again(
    backend: Backend, status: str
) -> None:
    raw = some_mail()
    mail_id = await backend.processed(raw, status)
    assert await backend.claimed() == set()
    kept = await backend.store.keep(raw, envelope_from=MARIA, recipients=(SUPPORT,), source="smtp")
    assert (kept.mail_id, kept.duplicate) == (mail_id, True)
    # A back-off asked too late (the lease ran out, another worker finished it).
    await backend.store.retry_later(StoredMail(mail_id, raw, MARIA, (SUPPORT,), 1), "late", 0)
    assert await backend.claimed() == set()


async def test_a_mail_the_store_does_not_hold_is_neither_finished_nor_put_back(
    backend: Backend,
) -> None:
    stranger = StoredMail(uuid4(), some_mail(), MARIA, (SUPPORT,), 1)
    await backend.store.finish(stranger, Outcome("done", "x", sender=MARIA))
    await backend.store.retry_later(stranger, "tickets: TimeoutError", 0)
    assert await backend.store.claim(10) == []
    assert await backend.store.mails_from(MARIA, backend.clock.now() - HOUR) == 0


# --- mails_from -----------------------------------------------------------------------


async def test_a_sender_s_processed_mails_are_counted_since_a_time_without_case(
    backend: Backend,
) -> None:
    for status in ("done", "ignored", "dead"):
        await backend.processed(some_mail(), status, sender="Maria@Company.example")
    await backend.processed(some_mail(), sender="eleni@company.example")
    await backend.keep(some_mail())  # hers, still waiting: not processed
    (waiting,) = await backend.store.claim(1)
    await backend.store.retry_later(waiting, "tickets: TimeoutError", 3600)
    now = backend.clock.now()
    assert await backend.store.mails_from("MARIA@company.example", now - HOUR) == 3
    assert await backend.store.mails_from("eleni@company.example", now - HOUR) == 1
    assert await backend.store.mails_from(MARIA, now + HOUR) == 0
    assert await backend.store.mails_from("nobody@company.example", now - HOUR) == 0

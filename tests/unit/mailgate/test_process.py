"""What a kept mail becomes (`handlers/process.py`), against in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import uuid4

import pytest

from helpdesk.contracts.mail import reply_address, thread_reference
from helpdesk.mailgate.handlers.deps import Deps, MailPolicy, Outcome, StoredMail
from helpdesk.mailgate.handlers.process import process
from helpdesk.servicekit.clock import ManualClock
from tests.unit.mailgate.fakes import FakeStore, FakeTickets, MemoryBlobs, claimed, kit_files

KEY = b"k" * 32
SUPPORT = "helpdesk@company.example"
MARIA = "maria@company.example"
AGENT = "nikos@company.example"


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC)))


@pytest.fixture
def tickets() -> FakeTickets:
    return FakeTickets(users={MARIA, AGENT, "eve@company.example"})


@pytest.fixture
def deps(store: FakeStore, tickets: FakeTickets) -> Deps:
    policy = MailPolicy(reply_key=KEY, support=(SUPPORT,), own=(SUPPORT,), hourly_limit=5)
    return Deps(store, tickets, store.clock, policy, kit_files(MemoryBlobs()))


def stored(
    sender: str = MARIA, to: str = SUPPORT, subject: str = "Εκτυπωτής", **headers: str
) -> StoredMail:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid4()}@client.example>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Δεν τυπώνει.\n\nOn Mon, 23 Nov 2026, Helpdesk wrote:\n> παλιό")
    return StoredMail(uuid4(), mail.as_bytes(), envelope_from=sender, recipients=(to,))


async def test_a_new_mail_becomes_a_ticket_with_the_whole_text(
    deps: Deps, store: FakeStore, tickets: FakeTickets
) -> None:
    mail = await claimed(store, stored())
    outcome = await process(mail, deps)
    assert outcome is not None
    assert (outcome.status, outcome.detail) == ("done", "created HD-2026-000001")
    (command,) = tickets.submitted
    assert command.sender == MARIA
    assert command.subject == "Εκτυπωτής"
    assert "> παλιό" in command.description  # a new ticket keeps everything (forwards)
    assert store.outcomes[mail.mail_id].sender == MARIA


async def test_a_reply_to_the_signed_address_is_a_trimmed_message(
    deps: Deps, tickets: FakeTickets
) -> None:
    ticket_id = uuid4()
    tickets.participants[ticket_id] = {MARIA}
    outcome = await process(stored(to=reply_address(SUPPORT, KEY, ticket_id)), deps)
    assert outcome is not None
    assert outcome.status == "done"
    (reply,) = tickets.replies
    assert (reply.ticket_id, reply.body) == (ticket_id, "Δεν τυπώνει.")


async def test_a_reply_threaded_only_by_references_finds_its_ticket(
    deps: Deps, tickets: FakeTickets
) -> None:
    ticket_id = uuid4()
    tickets.participants[ticket_id] = {AGENT}
    root = thread_reference(SUPPORT, KEY, ticket_id)
    await process(stored(sender=AGENT, References=f"{root} <x@helpdesk>"), deps)
    assert [r.ticket_id for r in tickets.replies] == [ticket_id]


async def test_someone_else_answering_a_ticket_is_told_why_not(
    deps: Deps, tickets: FakeTickets
) -> None:
    ticket_id = uuid4()
    tickets.participants[ticket_id] = {MARIA}
    mail = stored(sender="eve@company.example", to=reply_address(SUPPORT, KEY, ticket_id))
    outcome = await process(mail, deps)
    assert outcome is not None
    assert (outcome.status, outcome.detail) == ("ignored", "not_participant")
    assert outcome.explanation is not None
    assert outcome.explanation.to == "eve@company.example"
    assert tickets.replies == []


async def test_a_ticket_number_from_a_stranger_opens_a_new_ticket(
    deps: Deps, tickets: FakeTickets
) -> None:
    ticket_id = uuid4()
    tickets.participants[ticket_id] = {MARIA}
    tickets.numbers["HD-2026-000042"] = ticket_id
    mail = stored(sender="eve@company.example", subject="Re: [HD-2026-000042] κι εμένα")
    outcome = await process(mail, deps)
    assert outcome is not None
    assert outcome.detail.startswith("created")
    assert [c.sender for c in tickets.submitted] == ["eve@company.example"]
    # ...while the requester's own mail with the number is a message on that ticket.
    await process(stored(subject="Re: HD-2026-000042"), deps)
    assert [r.number for r in tickets.replies] == ["HD-2026-000042"]


async def test_an_unknown_sender_gets_an_explanation_and_no_ticket(deps: Deps) -> None:
    outcome = await process(stored(sender="stranger@example.org"), deps)
    assert outcome is not None
    assert (outcome.status, outcome.detail) == ("ignored", "unknown_sender")
    assert outcome.explanation is not None
    assert outcome.explanation.reason == "unknown_sender"


@pytest.mark.parametrize(
    ("headers", "envelope_from", "why"),
    [
        ({"Auto_Submitted": "auto-replied"}, MARIA, "auto_reply"),
        ({"Precedence": "bulk"}, MARIA, "auto_reply"),
        ({}, "", "bounce"),
    ],
)
async def test_machines_mail_creates_nothing(
    deps: Deps, tickets: FakeTickets, headers: dict[str, str], envelope_from: str, why: str
) -> None:
    mail = stored(**headers)
    mail = StoredMail(mail.mail_id, mail.raw, envelope_from, mail.recipients)
    outcome = await process(mail, deps)
    assert outcome is not None
    assert (outcome.status, outcome.detail, outcome.explanation) == ("ignored", why, None)
    assert tickets.submitted == []


async def test_our_own_address_and_a_flooding_sender_create_nothing(
    deps: Deps, store: FakeStore, tickets: FakeTickets
) -> None:
    own = await process(stored(sender="HelpDesk+x@Company.example"), deps)
    assert own is not None
    assert own.detail == "own_address"
    for _ in range(5):  # the hourly limit's worth of her mails, processed
        await store.finish(await claimed(store, stored()), Outcome("done", "x", sender=MARIA))
    flood = await process(stored(), deps)
    assert flood is not None
    assert flood.detail == "rate_limited"
    assert tickets.submitted == []


async def test_a_forged_reply_address_is_dead_lettered(deps: Deps) -> None:
    forged = "helpdesk+" + "a" * 42 + "@company.example"
    outcome = await process(stored(to=forged), deps)
    assert outcome is not None
    assert outcome.status == "dead"
    assert forged in outcome.detail


async def test_the_tickets_service_away_delays_the_mail_then_dead_letters_it(
    deps: Deps, store: FakeStore, tickets: FakeTickets
) -> None:
    tickets.down = True
    mail = await claimed(store, stored())
    assert (mail.envelope_from, mail.attempts) == (MARIA, 1)
    assert await process(mail, deps) is None
    assert store.retries == [(mail.mail_id, 1.0)]
    assert mail.mail_id not in store.outcomes
    last = StoredMail(mail.mail_id, mail.raw, MARIA, mail.recipients, deps.policy.max_attempts)
    outcome = await process(last, deps)
    assert outcome is not None
    assert outcome.status == "dead"
    assert "gave up" in outcome.detail


async def test_bytes_that_are_no_mail_are_dead_lettered(deps: Deps) -> None:
    outcome = await process(StoredMail(uuid4(), b"", None, ()), deps)
    assert outcome is not None
    assert outcome.status == "dead"

"""What a mail becomes on the tickets side (`handlers/mail.py`), against the fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    Category,
    ChangeStatus,
    ReplyFromMail,
    SubmitFromMail,
    TicketStatus,
)
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.domain.events import MessageAdded, StatusChanged, Submitted
from helpdesk.tickets.handlers.commands import change_status
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.mail import reply_from_mail, submit_from_mail
from tests.unit.tickets.fakes import FakeDatabase


def address(db: FakeDatabase, actor: Actor) -> str:
    email = db.users[actor.user_id].contact.email
    assert email is not None
    return email


def mail(db: FakeDatabase, actor: Actor, mail_id: str = "<m1@example.org>") -> SubmitFromMail:
    return SubmitFromMail(
        sender=address(db, actor).upper(),  # addresses compare case-insensitively
        mail_id=mail_id,
        subject="Ο εκτυπωτής δεν τυπώνει",
        description="Από σήμερα το πρωί.",
    )


async def test_a_mail_from_an_active_user_becomes_a_normal_ticket_of_category_other(
    db: FakeDatabase, deps: Deps
) -> None:
    maria = db.add_user("Μαρία")
    submitted = await submit_from_mail(mail(db, maria), deps)
    ticket = db.ticket(submitted.ticket_id)
    assert ticket.requester is not None
    assert ticket.requester.user_id == maria.user_id
    assert (ticket.priority, ticket.category) == (Priority.NORMAL, Category.OTHER)
    assert ticket.subject == "Ο εκτυπωτής δεν τυπώνει"
    assert db.events_of(submitted.ticket_id) == [Submitted]


async def test_the_same_mail_twice_is_one_ticket_with_the_same_answer(
    db: FakeDatabase, deps: Deps
) -> None:
    maria = db.add_user("Μαρία")
    first = await submit_from_mail(mail(db, maria), deps)
    again = await submit_from_mail(mail(db, maria), deps)
    assert again == first
    assert len(db.streams) == 1


@pytest.mark.parametrize("active", [True, False])
async def test_an_unknown_or_inactive_sender_creates_nothing(
    db: FakeDatabase, deps: Deps, active: bool
) -> None:
    maria = db.add_user("Μαρία")
    db.users[maria.user_id] = replace(db.users[maria.user_id], active=active)
    command = mail(db, maria)
    if active:
        command = command.model_copy(update={"sender": "stranger@example.org"})
    with pytest.raises(Refused) as refused:
        await submit_from_mail(command, deps)
    assert refused.value.error.code == "unknown_sender"
    assert db.streams == {}


async def test_the_requester_answering_a_resolved_ticket_by_mail_reopens_it(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Νίκος", Role.AGENT)
    ticket_id = (await submit_from_mail(mail(db, maria), deps)).ticket_id
    await change_status(
        ChangeStatus(actor=agent, ticket_id=ticket_id, status=TicketStatus.RESOLVED), deps
    )
    clock.advance(timedelta(minutes=5))
    added = await reply_from_mail(
        ReplyFromMail(
            sender=address(db, maria), mail_id="<m2@x>", ticket_id=ticket_id, body="Πάλι χάλασε."
        ),
        deps,
    )
    assert added.status is TicketStatus.OPEN
    assert db.events_of(ticket_id) == [Submitted, StatusChanged, MessageAdded]


async def test_an_agent_answering_by_mail_is_a_public_first_response(
    db: FakeDatabase, deps: Deps
) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Νίκος", Role.AGENT)
    submitted = await submit_from_mail(mail(db, maria), deps)
    await reply_from_mail(
        ReplyFromMail(
            sender=address(db, agent), mail_id="<a1@x>", number=submitted.number, body="Κοιτάζω."
        ),
        deps,
    )
    ticket = db.ticket(submitted.ticket_id)
    assert ticket.first_responded_at is not None
    assert ticket.status is TicketStatus.OPEN
    message = ticket.history[-1]
    assert isinstance(message, MessageAdded)
    assert message.by_agent
    assert not message.internal


async def test_someone_else_cannot_add_to_a_ticket_by_mail(db: FakeDatabase, deps: Deps) -> None:
    maria = db.add_user("Μαρία")
    eve = db.add_user("Εύα")
    ticket_id = (await submit_from_mail(mail(db, maria), deps)).ticket_id
    with pytest.raises(Refused) as refused:
        await reply_from_mail(
            ReplyFromMail(sender=address(db, eve), mail_id="<e1@x>", ticket_id=ticket_id, body="x"),
            deps,
        )
    assert refused.value.error.code == "not_participant"
    assert db.events_of(ticket_id) == [Submitted]


async def test_a_reply_to_no_known_ticket_is_not_found(db: FakeDatabase, deps: Deps) -> None:
    maria = db.add_user("Μαρία")
    for target in ({"ticket_id": uuid4()}, {"number": "HD-2026-999999"}):
        with pytest.raises(Refused) as refused:
            await reply_from_mail(
                ReplyFromMail(sender=address(db, maria), mail_id="<r@x>", body="x", **target),
                deps,
            )
        assert refused.value.error.code == "not_found"


async def test_the_same_reply_twice_is_one_message(db: FakeDatabase, deps: Deps) -> None:
    maria = db.add_user("Μαρία")
    ticket_id = (await submit_from_mail(mail(db, maria), deps)).ticket_id
    reply = ReplyFromMail(sender=address(db, maria), mail_id="<r@x>", ticket_id=ticket_id, body="x")
    first = await reply_from_mail(reply, deps)
    assert await reply_from_mail(reply, deps) == first
    assert db.events_of(ticket_id) == [Submitted, MessageAdded]

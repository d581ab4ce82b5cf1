"""A mail's files on the tickets side (`tickets.mail.attach`, issue 26): recorded
like a portal upload's, the refused ones named on the timeline, the ticket's
total respected file by file, and the same mail twice changing nothing."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from uuid import NAMESPACE_URL, uuid5

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.attachments import AttachFromMail, RefusedFile, StoredFile
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import ChangeStatus, ReplyFromMail, SubmitFromMail, TicketStatus
from helpdesk.tickets.adapters.contract_events import contract_events, from_contract, load_ticket
from helpdesk.tickets.domain.events import AttachmentsAdded, AttachmentsRefused, Submitted
from helpdesk.tickets.handlers.commands import change_status
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.mail import attach_from_mail, reply_from_mail, submit_from_mail
from helpdesk.tickets.handlers.views import detail_of
from tests.unit.tickets.fakes import POLICY, FakeDatabase

MAIL_ID = "<files@client.example>"
EXE = RefusedFile(name="fix.exe", code="unsupported_type", detail="not accepted", size=400)


def address(db: FakeDatabase, actor: Actor) -> str:
    email = db.users[actor.user_id].contact.email
    assert email is not None
    return email


def a_file(name: str, size: int, index: int = 0) -> StoredFile:
    return StoredFile(
        attachment_id=uuid5(NAMESPACE_URL, f"{MAIL_ID}#{index}"),
        file_name=name,
        original_name=name,
        size=size,
        content_type="application/pdf",
        sha256=hashlib.sha256(name.encode()).hexdigest(),
    )


def a_ticket(db: FakeDatabase, sender: Actor) -> SubmitFromMail:
    return SubmitFromMail(
        sender=address(db, sender), mail_id=MAIL_ID, subject="Οθόνη", description="Δείτε."
    )


async def maria_s_files(
    db: FakeDatabase,
    deps: Deps,
    files: list[StoredFile] | None = None,
    refused: list[RefusedFile] | None = None,
) -> tuple[Actor, AttachFromMail]:
    """Μαρία mails a new ticket; the mail's files (and the ones the mailgate refused)."""
    maria = db.add_user("Μαρία")
    submitted = await submit_from_mail(a_ticket(db, maria), deps)
    command = AttachFromMail(
        sender=address(db, maria),
        mail_id=MAIL_ID,
        ticket_id=submitted.ticket_id,
        files=files or [],
        refused=refused or [],
    )
    return maria, command


async def test_files_and_refusals_of_a_new_ticket(db: FakeDatabase, deps: Deps) -> None:
    files = [a_file("a.pdf", 100), a_file("b.png", 200, 1)]
    maria, command = await maria_s_files(db, deps, files, refused=[EXE])
    result = await attach_from_mail(command, deps)
    assert result.added == [f.attachment_id for f in command.files]
    assert result.refused == [EXE]
    assert db.events_of(command.ticket_id) == [Submitted, AttachmentsAdded, AttachmentsRefused]
    ticket = db.ticket(command.ticket_id)
    assert {a.file.original_name for a in ticket.attachments.values()} == {"a.pdf", "b.png"}
    # The timeline names the refused file and why (the portal shows the body as is).
    entry = detail_of(ticket, for_agent=False, policy=POLICY).timeline[-1]
    assert entry.kind == "TicketAttachmentsRefused"
    assert entry.body == "fix.exe: not accepted"
    assert entry.details["codes"] == "unsupported_type"
    assert entry.author is not None
    assert entry.author.user_id == maria.user_id
    # The same mail again (a retry after a crash): the first answer, nothing new.
    assert await attach_from_mail(command, deps) == result
    assert len(db.events_of(command.ticket_id)) == 3


async def test_the_refusal_event_round_trips_and_carries_the_sender(
    db: FakeDatabase, deps: Deps
) -> None:
    maria, command = await maria_s_files(db, deps, refused=[EXE])
    await attach_from_mail(command, deps)
    ticket = db.ticket(command.ticket_id)
    published = contract_events(ticket, start=0)
    refused = published[-1]
    assert refused.event_type == "TicketAttachmentsRefused"
    assert refused.subject() == "tickets.events.ticket.attachments_refused"
    assert refused.by.email == address(db, maria)  # type: ignore[attr-defined]
    assert [from_contract(p) for p in published] == ticket.history
    stored = [(p.event_type, p.model_dump(mode="json")) for p in published]
    assert load_ticket(ticket.ticket_id, stored).history == ticket.history


async def test_files_past_the_tickets_total_are_refused_one_by_one(
    db: FakeDatabase, deps: Deps
) -> None:
    deps = replace(deps, attachment_ticket_max_bytes=250)
    files = [a_file("big.pdf", 200), a_file("too-much.pdf", 100, 1), a_file("s.pdf", 50, 2)]
    _, command = await maria_s_files(db, deps, files)
    result = await attach_from_mail(command, deps)
    assert len(result.added) == 2
    assert [(r.name, r.code) for r in result.refused] == [
        ("too-much.pdf", "ticket_attachments_full")
    ]


async def test_a_reply_s_files_go_on_its_message_and_only_participants_may(
    db: FakeDatabase, deps: Deps
) -> None:
    maria = db.add_user("Μαρία")
    eve = db.add_user("Εύα")
    agent = db.add_user("Νίκος", Role.AGENT)
    submitted = await submit_from_mail(a_ticket(db, maria), deps)
    reply = ReplyFromMail(
        sender=address(db, agent), mail_id="<r@x>", ticket_id=submitted.ticket_id, body="Ορίστε"
    )
    added = await reply_from_mail(reply, deps)
    command = AttachFromMail(
        sender=address(db, agent),
        mail_id="<r@x>",
        ticket_id=submitted.ticket_id,
        message_id=added.message_id,
        files=[a_file("driver.zip", 10)],
    )
    await attach_from_mail(command, deps)
    (state,) = db.ticket(submitted.ticket_id).attachments.values()
    assert (state.message_id, state.internal, state.by) == (added.message_id, False, agent.user_id)
    with pytest.raises(Refused) as refused:
        await attach_from_mail(
            command.model_copy(update={"sender": address(db, eve), "mail_id": "<e@x>"}), deps
        )
    assert refused.value.error.code == "not_participant"


async def test_a_closed_ticket_takes_no_files_but_names_them(db: FakeDatabase, deps: Deps) -> None:
    _, command = await maria_s_files(db, deps, [a_file("late.pdf", 10)])
    agent = db.add_user("Νίκος", Role.AGENT)
    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        await change_status(
            ChangeStatus(actor=agent, ticket_id=command.ticket_id, status=status), deps
        )
    result = await attach_from_mail(command, deps)
    assert result.added == []
    assert [(r.name, r.code) for r in result.refused] == [("late.pdf", "ticket_closed")]
    assert db.ticket(command.ticket_id).attachments == {}

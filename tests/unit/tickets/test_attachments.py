"""Attachment use cases of the tickets service against the in-memory fakes: who
may add, see and remove files, the per-ticket total, retries, and the round
trip through the contract events (what a replay folds)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.attachments import (
    AddAttachments,
    GetAttachment,
    ListAttachments,
    RemoveAttachment,
    StoredFile,
)
from helpdesk.contracts.tickets import AddMessage, ChangeStatus, TicketStatus
from helpdesk.tickets.adapters.contract_events import contract_events, from_contract
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers import attachments, commands, queries
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase
from tests.unit.tickets.test_handlers_commands import opened, refused, submit


def a_file(name: str = "screenshot.png", size: int = 1000, content: bytes = b"x") -> StoredFile:
    return StoredFile(
        attachment_id=uuid4(),
        file_name=name,
        original_name=name,
        size=size,
        content_type="image/png",
        sha256=hashlib.sha256(content).hexdigest(),
    )


async def add(
    deps: Deps, actor: Actor, ticket_id: UUID, *files: StoredFile, internal: bool = False
) -> list[UUID]:
    added = await attachments.add_attachments(
        AddAttachments(actor=actor, ticket_id=ticket_id, files=list(files), internal=internal),
        deps,
    )
    return [a.attachment_id for a in added.items]


async def visible_to(deps: Deps, actor: Actor, ticket_id: UUID) -> list[str]:
    listed = await attachments.list_attachments(
        ListAttachments(actor=actor, ticket_id=ticket_id), deps
    )
    return [a.file_name for a in listed.items]


async def test_the_requester_and_agents_add_files_and_both_see_them(
    deps: Deps, db: FakeDatabase
) -> None:
    maria, agent, ticket = await opened(db, deps)
    await add(deps, maria, ticket.ticket_id, a_file("οθόνη.png"))
    await add(deps, agent, ticket.ticket_id, a_file("fix.log"))
    assert await visible_to(deps, maria, ticket.ticket_id) == ["οθόνη.png", "fix.log"]
    assert await visible_to(deps, agent, ticket.ticket_id) == ["οθόνη.png", "fix.log"]
    assert db.events_of(ticket.ticket_id).count(e.AttachmentsAdded) == 2


async def test_internal_files_are_for_agents_only(deps: Deps, db: FakeDatabase) -> None:
    maria, agent, ticket = await opened(db, deps)
    [note_file] = await add(deps, agent, ticket.ticket_id, a_file("notes.txt"), internal=True)
    assert await visible_to(deps, maria, ticket.ticket_id) == []
    await refused(
        "not_found",
        attachments.get_attachment(
            GetAttachment(actor=maria, ticket_id=ticket.ticket_id, attachment_id=note_file), deps
        ),
    )
    await refused("forbidden", add(deps, maria, ticket.ticket_id, a_file(), internal=True))
    detail = await queries.get_ticket(
        queries.GetTicket(actor=maria, ticket_id=ticket.ticket_id), deps
    )
    assert "TicketAttachmentsAdded" not in [entry.kind for entry in detail.timeline]


async def test_someone_elses_ticket_is_not_found(deps: Deps, db: FakeDatabase) -> None:
    maria, eve = db.add_user("Μαρία"), db.add_user("Eve")
    ticket = await submit(deps, maria)
    [file_id] = await add(deps, maria, ticket.ticket_id, a_file())
    await refused("not_found", add(deps, eve, ticket.ticket_id, a_file()))
    await refused(
        "not_found",
        attachments.get_attachment(
            GetAttachment(actor=eve, ticket_id=ticket.ticket_id, attachment_id=file_id), deps
        ),
    )


async def test_the_ticket_total_is_bounded(deps: Deps, db: FakeDatabase) -> None:
    limited = replace(deps, attachment_ticket_max_bytes=2500)
    maria = db.add_user("Μαρία")
    ticket = await submit(limited, maria)
    await add(limited, maria, ticket.ticket_id, a_file(size=2000))
    before = db.event_count()
    await refused(
        "ticket_attachments_full", add(limited, maria, ticket.ticket_id, a_file(size=501))
    )
    assert db.event_count() == before
    await add(limited, maria, ticket.ticket_id, a_file(size=500))


async def test_a_retried_add_records_nothing_new(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    ticket = await submit(deps, maria)
    file = a_file()
    first = await add(deps, maria, ticket.ticket_id, file)
    before = db.event_count()
    assert await add(deps, maria, ticket.ticket_id, file) == first
    assert db.event_count() == before


async def test_a_closed_ticket_takes_no_files(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    ticket = await submit(deps, maria)
    await commands.change_status(
        ChangeStatus(actor=maria, ticket_id=ticket.ticket_id, status=TicketStatus.CLOSED), deps
    )
    await refused("ticket_closed", add(deps, maria, ticket.ticket_id, a_file()))


async def test_only_agents_remove_and_the_ticket_shows_it_removed(
    deps: Deps, db: FakeDatabase
) -> None:
    maria, agent, ticket = await opened(db, deps)
    [file_id] = await add(deps, maria, ticket.ticket_id, a_file(size=2000))

    def removal(actor: Actor) -> RemoveAttachment:
        return RemoveAttachment(
            actor=actor, ticket_id=ticket.ticket_id, attachment_id=file_id, reason="GDPR request"
        )

    await refused("forbidden", attachments.remove_attachment(removal(maria), deps))
    removed = await attachments.remove_attachment(removal(agent), deps)
    assert removed.removed
    assert removed.removed_reason == "GDPR request"
    again = await attachments.remove_attachment(removal(agent), deps)  # a repeat: no new event
    assert again.removed_at == removed.removed_at
    assert db.events_of(ticket.ticket_id).count(e.AttachmentRemoved) == 1

    shown = await attachments.get_attachment(
        GetAttachment(actor=maria, ticket_id=ticket.ticket_id, attachment_id=file_id), deps
    )
    assert shown.removed
    listed = await attachments.list_attachments(
        ListAttachments(actor=maria, ticket_id=ticket.ticket_id), deps
    )
    assert listed.total_bytes == 0  # removed files no longer count against the limit


async def test_attachment_events_survive_the_contract_round_trip(
    deps: Deps, db: FakeDatabase
) -> None:
    maria, agent, ticket = await opened(db, deps)
    file_id, _ = await add(deps, maria, ticket.ticket_id, a_file("a.png"), a_file("b.log"))
    await attachments.remove_attachment(
        RemoveAttachment(
            actor=agent, ticket_id=ticket.ticket_id, attachment_id=file_id, reason="wrong file"
        ),
        deps,
    )
    folded = db.ticket(ticket.ticket_id)
    published = contract_events(folded, start=0)
    replayed = Ticket.fold(ticket.ticket_id, [from_contract(c) for c in published])
    assert replayed.attachments == folded.attachments
    assert replayed.attachments[file_id].removed
    assert published[-1].event_type == "TicketAttachmentRemoved"


@pytest.mark.parametrize("reason", ["", "x" * 501])
def test_a_removal_needs_a_short_reason(reason: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        RemoveAttachment(
            actor=Actor(user_id=uuid4(), roles=[Role.AGENT]),
            ticket_id=uuid4(),
            attachment_id=uuid4(),
            reason=reason,
        )


async def test_a_reply_with_files_records_both_in_one_save_and_its_event_names_them(
    deps: Deps, db: FakeDatabase
) -> None:
    """The portal's reply form: the message and its files are one command, so one
    mail can carry both (TicketMessageAdded.files; the files' own event says
    `with_message`, and the notifier sends no second mail for it)."""
    _maria, agent, ticket = await opened(db, deps)
    guide = a_file("steps.txt", content=b"1. Repair")
    before = len(db.events_of(ticket.ticket_id))
    added = await commands.add_message(
        AddMessage(actor=agent, ticket_id=ticket.ticket_id, body="See the steps.", files=[guide]),
        deps,
    )
    new = db.streams[ticket.ticket_id][before:]
    assert [type(event) for event in new] == [e.MessageAdded, e.AttachmentsAdded]
    message, files = new
    assert isinstance(message, e.MessageAdded)
    assert isinstance(files, e.AttachmentsAdded)
    assert message.message_id == added.message_id == files.message_id
    assert message.files == (guide,) == files.files
    assert files.with_message
    published = contract_events(db.ticket(ticket.ticket_id), start=before)
    assert published[0].files == [guide]  # type: ignore[attr-defined]
    assert published[1].with_message  # type: ignore[attr-defined]


async def test_a_reply_whose_files_pass_the_tickets_total_is_refused_whole(
    deps: Deps, db: FakeDatabase
) -> None:
    _maria, agent, ticket = await opened(db, deps)
    before = len(db.events_of(ticket.ticket_id))
    huge = a_file("dump.bin", size=deps.attachment_ticket_max_bytes + 1)
    await refused(
        "ticket_attachments_full",
        commands.add_message(
            AddMessage(actor=agent, ticket_id=ticket.ticket_id, body="The dump.", files=[huge]),
            deps,
        ),
    )
    assert len(db.events_of(ticket.ticket_id)) == before  # neither the message nor the file

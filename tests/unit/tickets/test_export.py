"""The tickets part of a person's export (issue 30; docs/privacy.md, "Export"),
against the fakes: the requester's view of each ticket, with their files and
ratings, no internal notes, and another non-agent person's entry redacted (no
path of the real system puts one there today, so it is written into the stream)."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.contracts.attachments import StoredFile
from helpdesk.contracts.export import ExportTickets
from helpdesk.contracts.replies import BadCursor, Refused
from helpdesk.contracts.tickets import AddMessage, Contact
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.handlers import commands
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.export import export_tickets
from tests.unit.tickets.fakes import FakeDatabase
from tests.unit.tickets.test_handlers_commands import submit


def a_file(name: str) -> StoredFile:
    return StoredFile(
        attachment_id=uuid4(),
        file_name=name,
        original_name=name,
        size=3,
        content_type="text/plain",
        sha256="a" * 64,
    )


async def test_her_tickets_with_another_persons_entry_redacted(
    deps: Deps, db: FakeDatabase, clock: ManualClock
) -> None:
    maria = db.add_user("Μαρία")
    agent = db.add_user("Κώστας", Role.AGENT)
    ticket = await submit(deps, maria)
    for body, internal in (("σημείωση", True), ("Καλημέρα", False)):
        await commands.add_message(
            AddMessage(actor=agent, ticket_id=ticket.ticket_id, body=body, internal=internal),
            deps,
        )
    # Another (non-agent) person's reply and file on her ticket.
    stream = db.streams[ticket.ticket_id]
    reply = next(x for x in stream if isinstance(x, e.MessageAdded) and not x.internal)
    stranger = Contact(user_id=uuid4(), name="Γιάννης", email="giannis@example.com")
    stream.append(
        replace(reply, message_id=uuid4(), author=stranger, by_agent=False, body="ξένο κείμενο")
    )
    stream.append(
        e.AttachmentsAdded(
            at=clock.now(),
            files=(a_file("ξένο.txt"),),
            by=stranger,
            by_agent=False,
            internal=False,
            message_id=None,
        )
    )

    page = await export_tickets(ExportTickets(actor=maria, user_id=maria.user_id), deps)

    (exported,) = page.items
    assert exported.number == ticket.number
    entries = [(x.kind, x.author_role, x.author, x.body) for x in exported.timeline]
    assert entries == [
        ("TicketSubmitted", "you", "Μαρία", "Από το πρωί."),
        ("TicketMessageAdded", "agent", "Κώστας", "Καλημέρα"),
        ("TicketMessageAdded", "another_person", None, None),
        ("TicketAttachmentsAdded", "another_person", None, None),
    ]
    assert all(not x.details for x in exported.timeline if x.author_role == "another_person")
    assert exported.files == []
    assert "Γιάννης" not in page.model_dump_json()


async def test_only_she_or_an_admin_may_export_her(deps: Deps, db: FakeDatabase) -> None:
    maria = db.add_user("Μαρία")
    await submit(deps, maria)
    admin = db.add_user("Διαχειρίστρια", Role.ADMIN)
    for someone in (db.add_user("Γιάννης"), db.add_user("Κώστας", Role.AGENT)):
        with pytest.raises(Refused) as refused:
            await export_tickets(ExportTickets(actor=someone, user_id=maria.user_id), deps)
        assert refused.value.error.code == "forbidden"
    by_admin = await export_tickets(ExportTickets(actor=admin, user_id=maria.user_id), deps)
    assert len(by_admin.items) == 1


async def test_a_cursor_this_api_did_not_give_is_a_field_error(
    deps: Deps, db: FakeDatabase
) -> None:
    maria = db.add_user("Μαρία")
    with pytest.raises(BadCursor) as refused:
        await export_tickets(ExportTickets(actor=maria, user_id=maria.user_id, cursor="42"), deps)
    error = refused.value.error
    assert error.code == "validation_error"
    assert [(f.field, f.message) for f in error.field_errors] == [
        ("cursor", "not a cursor from this API")
    ]
    # The services that page by row number refuse what is not one the same way.
    with pytest.raises(BadCursor):
        ExportTickets(actor=maria, user_id=maria.user_id, cursor="a1").position()

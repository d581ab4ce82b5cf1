"""The tickets part of a person's data export (docs/privacy.md, "Export").

The tickets they requested (or that an agent opened on their behalf), newest
first, a page at a time: the facts, the timeline as the requester sees it on the
ticket (no internal notes, SLA alarms or reasons for a move), their ratings, and
the public attachments not removed. An entry by another non-agent person stays
in the timeline redacted (`another_person`: no author, body or details), and that
person's files are left out.
"""

from __future__ import annotations

from uuid import UUID

from helpdesk.contracts import export as contract
from helpdesk.contracts.tickets import AUTOMATIC, TimelineEntry
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.deps import Deps, Table, TicketFilter
from helpdesk.tickets.handlers.views import detail_of

TICKETS_PER_PAGE = 10

# Timeline details that name an agent by id: names are enough in an export.
_ID_DETAILS = ("assignee_id",)


class _Roles:
    """Who each author on a ticket is to its requester: themselves, an agent, or
    another (non-agent) person."""

    def __init__(self, ticket: Ticket) -> None:
        assert ticket.requester is not None
        self.requester = ticket.requester.user_id
        self.others: set[UUID] = set()
        for event in ticket.history:
            match event:
                case e.MessageAdded(by_agent=False, author=author):
                    self.others.add(author.user_id)
                case (
                    e.AttachmentsAdded(by_agent=False, by=by)
                    | e.AttachmentsRefused(by_agent=False, by=by)
                ):
                    self.others.add(by.user_id)
                case e.StatusChanged(by_agent=False, by=by):
                    self.others.add(by)
        self.others -= {self.requester, AUTOMATIC}

    def of(self, user_id: UUID | None) -> contract.AuthorRole:
        if user_id is None:
            return "helpdesk"
        if user_id == self.requester:
            return "you"
        return "another_person" if user_id in self.others else "agent"


def _entry(entry: TimelineEntry, roles: _Roles) -> contract.ExportedEntry:
    role = roles.of(entry.author.user_id if entry.author else None)
    if role == "another_person":
        return contract.ExportedEntry(at=entry.at, kind=entry.kind, author_role=role)
    details = {k: v for k, v in entry.details.items() if k not in _ID_DETAILS}
    return contract.ExportedEntry(
        at=entry.at,
        kind=entry.kind,
        author=entry.author.name if entry.author else None,
        author_role=role,
        body=entry.body,
        details=details,
    )


def _ratings(ticket: Ticket) -> list[contract.ExportedRating]:
    return [
        contract.ExportedRating(
            at=event.at, rating=event.rating, comment=event.comment, resolution=event.resolution
        )
        for event in ticket.history
        if isinstance(event, e.Rated)
    ]


def _files(ticket: Ticket, roles: _Roles) -> list[contract.ExportedFile]:
    files = []
    for state in ticket.attachments.values():
        role = roles.of(state.by)
        if state.internal or state.removed or role == "another_person":
            continue
        files.append(
            contract.ExportedFile(
                **state.file.model_dump(
                    include={"attachment_id", "file_name", "original_name", "size", "sha256"}
                ),
                content_type=state.file.content_type,
                added_at=state.added_at,
                added_by=role,
            )
        )
    return files


def exported(ticket: Ticket, deps: Deps) -> contract.ExportedTicket:
    """One ticket as its requester's export shows it."""
    shown = detail_of(ticket, for_agent=False, policy=deps.policy)
    roles = _Roles(ticket)
    return contract.ExportedTicket(
        ticket_id=shown.ticket_id,
        number=shown.number,
        subject=shown.subject,
        description=shown.description,
        priority=shown.priority.value,
        category=shown.category.value if shown.category else None,
        status=shown.status.value,
        queue=shown.queue,
        channel=shown.channel.value,
        opened_by=shown.opened_by.name if shown.opened_by else None,
        created_at=shown.created_at,
        updated_at=shown.updated_at,
        first_responded_at=shown.first_responded_at,
        resolved_at=shown.resolved_at,
        timeline=[_entry(entry, roles) for entry in shown.timeline],
        ratings=_ratings(ticket),
        files=_files(ticket, roles),
    )


async def export_tickets(query: contract.ExportTickets, deps: Deps) -> contract.TicketsExport:
    query.ensure_allowed()
    mine = TicketFilter(requester_id=query.user_id)
    async with deps.uow() as uow:
        page = await uow.views.page(mine, cursor=query.cursor, limit=TICKETS_PER_PAGE)
        tickets = [await uow.tickets.get(item.ticket_id) for item in page.items]
    return contract.TicketsExport(
        items=[exported(ticket, deps) for ticket in tickets if ticket.exists],
        next_cursor=page.next_cursor,
    )


EXPORT: Table = {contract.ExportTickets: export_tickets}

"""The attachment use cases: record what the gateway stored, list, get, remove.

The bytes never pass through here: the gateway has already stored them in
the object store by the time `add_attachments` runs, and answers the
download from there after `get_attachment` said the caller may have it.
Removing records the event; the eraser (`adapters/eraser.py`, a consumer of
that event) deletes the bytes once no live attachment holds them.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk.contracts.attachments import (
    AddAttachments,
    Attachment,
    AttachmentList,
    GetAttachment,
    ListAttachments,
    RemoveAttachment,
)
from helpdesk.servicekit.logging import get_logger
from helpdesk.tickets.domain.attachments import find
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.attachment_views import attachment_of, attachments_of
from helpdesk.tickets.handlers.commands import _change
from helpdesk.tickets.handlers.deps import Deps, Table, caller_of

log = get_logger(__name__)


async def add_attachments(cmd: AddAttachments, deps: Deps) -> AttachmentList:
    """Answers with the files of the command (also when a retry finds them recorded)."""

    def decide(ticket: Ticket, caller: Caller, now: datetime) -> AttachmentList:
        ticket.add_attachments(
            caller,
            cmd.files,
            internal=cmd.internal,
            message_id=cmd.message_id,
            max_total=deps.attachment_ticket_max_bytes,
            now=now,
        )
        return attachments_of(ticket, caller, only={f.attachment_id for f in cmd.files})

    added = await _change(deps, cmd.actor, cmd.ticket_id, decide)
    log.info("attachments added", ticket_id=str(cmd.ticket_id), count=len(added.items))
    return added


async def remove_attachment(cmd: RemoveAttachment, deps: Deps) -> Attachment:
    def decide(ticket: Ticket, caller: Caller, now: datetime) -> Attachment:
        ticket.remove_attachment(caller, cmd.attachment_id, reason=cmd.reason, now=now)
        return attachment_of(ticket, ticket.attachments[cmd.attachment_id])

    removed = await _change(deps, cmd.actor, cmd.ticket_id, decide)
    log.info(
        "attachment removed", ticket_id=str(cmd.ticket_id), attachment_id=str(cmd.attachment_id)
    )
    return removed


async def _load(deps: Deps, query: ListAttachments | GetAttachment) -> tuple[Ticket, Caller]:
    async with deps.uow() as uow:
        caller = await caller_of(uow, query.actor)
        ticket = await uow.tickets.get(query.ticket_id)
    ticket.ensure_visible_to(caller)
    return ticket, caller


async def list_attachments(query: ListAttachments, deps: Deps) -> AttachmentList:
    ticket, caller = await _load(deps, query)
    return attachments_of(ticket, caller)


async def get_attachment(query: GetAttachment, deps: Deps) -> Attachment:
    """404 for someone else's ticket, an unknown id, or a customer asking for an
    internal note's file; a removed one is answered (marked), the gateway says 410."""
    ticket, caller = await _load(deps, query)
    return attachment_of(ticket, find(ticket.attachments, caller, query.attachment_id))


ATTACHMENTS: Table = {
    AddAttachments: add_attachments,
    RemoveAttachment: remove_attachment,
    ListAttachments: list_attachments,
    GetAttachment: get_attachment,
}

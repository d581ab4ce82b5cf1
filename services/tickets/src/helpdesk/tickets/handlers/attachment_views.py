"""What the replies show of attachments: the list, one attachment, a timeline entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from helpdesk.contracts.attachments import Attachment, AttachmentList
from helpdesk.contracts.tickets import Person, TimelineEntry
from helpdesk.tickets.domain import events as e
from helpdesk.tickets.domain.attachments import AttachmentState, total_bytes, visible
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.ticket import Ticket


def attachment_of(ticket: Ticket, state: AttachmentState, by: Person | None = None) -> Attachment:
    return Attachment(
        **state.file.model_dump(),
        ticket_id=ticket.ticket_id,
        internal=state.internal,
        message_id=state.message_id,
        added_at=state.added_at,
        added_by=by or Person(user_id=state.by),
        removed=state.removed,
        removed_at=state.removed_at,
        removed_reason=state.removed_reason,
    )


def attachments_of(ticket: Ticket, caller: Caller, only: set[UUID] | None = None) -> AttachmentList:
    """The attachments `caller` may see (all of them, or those in `only`), oldest first."""
    names = {
        event.by.user_id: event.by.name
        for event in ticket.history
        if isinstance(event, e.AttachmentsAdded)
    }
    items = [
        attachment_of(ticket, state, Person(user_id=state.by, name=names.get(state.by)))
        for state in visible(ticket.attachments, caller)
        if only is None or state.file.attachment_id in only
    ]
    return AttachmentList(items=items, total_bytes=total_bytes(ticket.attachments))


def attachment_entry(
    event: e.AttachmentsAdded | e.AttachmentRemoved | e.AttachmentsRefused,
    base: dict[str, Any],
    by: Callable[[UUID], Person],
) -> TimelineEntry:
    if isinstance(event, e.AttachmentsAdded):
        return TimelineEntry(
            **base,
            author=by(event.by.user_id),
            internal=event.internal,
            details={
                "files": ", ".join(f.original_name for f in event.files),
                "attachment_ids": " ".join(str(f.attachment_id) for f in event.files),
                "message_id": str(event.message_id) if event.message_id else None,
            },
        )
    if isinstance(event, e.AttachmentsRefused):
        # The body names each file and why (the portal shows an entry's body as it is).
        return TimelineEntry(
            **base,
            author=by(event.by.user_id),
            body="\n".join(f"{f.name}: {f.detail or f.code}" for f in event.files),
            details={
                "files": ", ".join(f.name for f in event.files),
                "codes": " ".join(f.code for f in event.files),
                # One "code:name" line per file, for the portal to say why in its language.
                "refused": "\n".join(f"{f.code}:{f.name}" for f in event.files),
                "message_id": str(event.message_id) if event.message_id else None,
            },
        )
    return TimelineEntry(
        **base,
        author=by(event.by),
        internal=event.internal,
        details={"attachment_id": str(event.attachment_id), "reason": event.reason},
    )

"""A ticket's attachments: who may add and remove them, and the per-ticket total.

Pure rules over the `Ticket` aggregate (it records the events these return):

* the requester and agents add files to a ticket they can see; only agents
  add them to an internal note (customers never see those);
* a closed ticket takes no more files (like replies);
* the files not removed may total at most the ticket's limit
  (HELPDESK_ATTACHMENT_TICKET_MAX_BYTES): 413 `ticket_attachments_full`;
* only agents remove, with a reason; a removed attachment stays on the
  ticket as "removed" (replay shows it), its bytes are erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from helpdesk.contracts.attachments import StoredFile
from helpdesk.contracts.replies import Refused
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.errors import Forbidden
from helpdesk.tickets.domain.events import AttachmentRemoved, AttachmentsAdded


class AttachmentNotFound(Refused):
    code = "not_found"
    default_message = "no such attachment"


class TicketAttachmentsFull(Refused):
    code = "ticket_attachments_full"


@dataclass(frozen=True)
class AttachmentState:
    file: StoredFile
    added_at: datetime
    by: UUID
    internal: bool
    message_id: UUID | None
    removed_at: datetime | None = None
    removed_reason: str | None = None

    @property
    def removed(self) -> bool:
        return self.removed_at is not None


Attachments = dict[UUID, AttachmentState]


def apply(attachments: Attachments, event: AttachmentsAdded | AttachmentRemoved) -> None:
    """The state change of an attachment event (folding and recording alike)."""
    if isinstance(event, AttachmentsAdded):
        for file in event.files:
            attachments[file.attachment_id] = AttachmentState(
                file=file,
                added_at=event.at,
                by=event.by.user_id,
                internal=event.internal,
                message_id=event.message_id,
            )
    else:
        found = attachments.get(event.attachment_id)
        if found is not None:
            attachments[event.attachment_id] = replace(
                found, removed_at=event.at, removed_reason=event.reason
            )


def total_bytes(attachments: Attachments) -> int:
    return sum(a.file.size for a in attachments.values() if not a.removed)


def visible(attachments: Attachments, caller: Caller) -> list[AttachmentState]:
    return [a for a in attachments.values() if caller.is_agent or not a.internal]


def decide_add(
    attachments: Attachments,
    caller: Caller,
    files: Sequence[StoredFile],
    *,
    internal: bool,
    message_id: UUID | None,
    max_total: int,
    now: datetime,
) -> AttachmentsAdded | None:
    """The event recording `files`, or None when every one is already there (a retry)."""
    if internal and not caller.is_agent:
        raise Forbidden("only agents may attach files to internal notes")
    new = [f for f in files if f.attachment_id not in attachments]
    if not new:
        return None
    if total_bytes(attachments) + sum(f.size for f in new) > max_total:
        raise TicketAttachmentsFull(f"the ticket's attachments may total at most {max_total} bytes")
    return AttachmentsAdded(
        at=now,
        files=tuple(new),
        by=caller.contact,
        by_agent=caller.is_agent,
        internal=internal,
        message_id=message_id,
    )


def find(attachments: Attachments, caller: Caller, attachment_id: UUID) -> AttachmentState:
    """The attachment if the caller may see it; customers never see internal ones."""
    found = attachments.get(attachment_id)
    if found is None or (found.internal and not caller.is_agent):
        raise AttachmentNotFound()
    return found


def decide_remove(
    attachments: Attachments, caller: Caller, attachment_id: UUID, *, reason: str, now: datetime
) -> AttachmentRemoved | None:
    """None when it was removed already (a repeated request)."""
    found = find(attachments, caller, attachment_id)
    if not caller.is_agent:
        raise Forbidden("only agents and admins may remove attachments")
    if found.removed:
        return None
    return AttachmentRemoved(
        at=now,
        attachment_id=attachment_id,
        sha256=found.file.sha256,
        thumbnail=found.file.thumbnail,
        internal=found.internal,
        by=caller.user_id,
        reason=reason,
    )

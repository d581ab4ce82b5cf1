"""Attachments on tickets: the metadata that travels in commands and events.

The bytes never do: the gateway streams them into the object store
(`helpdesk.servicekit.blobs`, content-addressed by SHA-256) and then tells the
tickets service what it stored. Events carry the attachment id, the file
name (normalised, and the original for display), the size, the content type
the gateway detected from the bytes, and the SHA-256 (docs/attachments.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.actors import Actor

# The file primitives live in contracts.files; re-exported here under their old names.
from helpdesk.contracts.files import (
    DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES,
)
from helpdesk.contracts.files import (
    DEFAULT_TICKET_MAX_BYTES as DEFAULT_TICKET_MAX_BYTES,
)
from helpdesk.contracts.files import (
    FILE_NAME_MAX as FILE_NAME_MAX,
)
from helpdesk.contracts.files import (
    FILES_PER_MAIL_MAX as FILES_PER_MAIL_MAX,
)
from helpdesk.contracts.files import (
    FILES_PER_REQUEST_MAX as FILES_PER_REQUEST_MAX,
)
from helpdesk.contracts.files import (
    ORIGINAL_NAME_MAX as ORIGINAL_NAME_MAX,
)
from helpdesk.contracts.files import (
    REASON_MAX as REASON_MAX,
)
from helpdesk.contracts.files import (
    REFUSED_PER_MAIL_MAX as REFUSED_PER_MAIL_MAX,
)
from helpdesk.contracts.files import (
    ContentType as ContentType,
)
from helpdesk.contracts.files import (
    Handling as Handling,
)
from helpdesk.contracts.files import (
    Scan as Scan,
)
from helpdesk.contracts.files import (
    Sha256 as Sha256,
)
from helpdesk.contracts.files import (
    StoredFile as StoredFile,
)
from helpdesk.contracts.personal import REQUESTERS_FILE
from helpdesk.contracts.tickets import (
    Contact,
    MailAddress,
    MailId,
    Person,
    RequesterText,
    TicketEvent,
    _OneTicketCommand,
    _OneTicketQuery,
    _TicketsMailCommand,
    _TicketsQuery,
)


class RefusedFile(BaseModel):
    """A file that came with a mail and was not taken: its name and why not.

    `code` is the pipeline's refusal (`unsupported_type`, `file_too_large`,
    `empty_file`, `image_too_large`, `damaged_image`, `malware_found`) or the
    ticket's (`ticket_attachments_full`, `too_many_files`, `ticket_closed`);
    `detail` is the English sentence for logs and the API."""

    model_config = ConfigDict(frozen=True)

    name: Annotated[str, REQUESTERS_FILE] = Field(min_length=1, max_length=ORIGINAL_NAME_MAX)
    code: str = Field(pattern=r"^[a-z][a-z_]{0,63}$")
    detail: str = Field(default="", max_length=REASON_MAX)
    size: int = Field(default=0, ge=0)


class Attachment(StoredFile):
    """An attachment as the API shows it."""

    ticket_id: UUID
    internal: bool = False  # on an internal note: agents only
    message_id: UUID | None = None
    added_at: datetime
    added_by: Person
    removed: bool = False
    removed_at: datetime | None = None
    removed_reason: str | None = None


class AttachmentList(BaseModel):
    items: list[Attachment]
    total_bytes: int  # of the attachments not removed, against the ticket's limit


class AttachmentRemoval(BaseModel):
    """The REST body of a removal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1, max_length=REASON_MAX)


# --- commands and queries ---------------------------------------------------------------


class AddAttachments(_OneTicketCommand[AttachmentList]):
    """Record files the gateway has stored; answers with the ones just added."""

    verb: ClassVar[str] = "add_attachments"

    files: list[StoredFile] = Field(min_length=1, max_length=FILES_PER_REQUEST_MAX)
    internal: bool = False
    message_id: UUID | None = None


class FilesAttached(BaseModel):
    """What became of a mail's files: the ones recorded and the ones refused."""

    ticket_id: UUID
    added: list[UUID]
    refused: list[RefusedFile]


class AttachFromMail(_TicketsMailCommand[FilesAttached]):
    """The files of a mail that became a ticket or a message (after `tickets.mail.submit`
    or `.reply`), stored by the mailgate; `refused` are the parts the pipeline refused.

    Files past the ticket's total become refused `ticket_attachments_full`. The
    sender must be the requester or an agent. Idempotent by `mail_id` (the first
    answer is given again) and by the attachment ids (derived from the mail and
    the part's index)."""

    verb: ClassVar[str] = "attach"  # -> tickets.mail.attach

    sender: MailAddress
    mail_id: MailId
    ticket_id: UUID
    message_id: UUID | None = None  # the message the mail became (a reply)
    files: list[StoredFile] = Field(default=[], max_length=FILES_PER_MAIL_MAX)
    refused: list[RefusedFile] = Field(default=[], max_length=REFUSED_PER_MAIL_MAX)


class RemoveAttachment(_OneTicketCommand[Attachment], AttachmentRemoval):
    """Agents and admins: the bytes are erased, the ticket keeps a "removed" entry."""

    verb: ClassVar[str] = "remove_attachment"

    attachment_id: UUID


class ListAttachments(_OneTicketQuery[AttachmentList]):
    """The ticket's attachments the caller may see (404 for someone else's ticket)."""

    verb: ClassVar[str] = "list_attachments"


class GetAttachment(_TicketsQuery[Attachment]):
    verb: ClassVar[str] = "get_attachment"

    actor: Actor
    ticket_id: UUID
    attachment_id: UUID


# --- events -------------------------------------------------------------------------------


class TicketAttachmentsAdded(TicketEvent):
    """Files added to a ticket (one upload, one event); metadata only, never bytes.
    Schema 3: the subject line is sealed too (schema 2 had it in the clear)."""

    schema_version: ClassVar[int] = 3
    verb: ClassVar[str] = "attachments_added"

    files: list[StoredFile]
    by: Contact
    by_agent: bool
    internal: bool
    message_id: UUID | None = None
    # Added with the message `message_id` in one command: its TicketMessageAdded
    # names them too (the reply's mail carries them; no mail of their own).
    with_message: bool = False
    requester: Contact
    subject_line: RequesterText


class TicketAttachmentRemoved(TicketEvent):
    """An attachment erased by an agent or admin; its bytes go when nothing else holds them."""

    verb: ClassVar[str] = "attachment_removed"

    attachment_id: UUID
    sha256: str
    thumbnail: bool = False
    internal: bool = False  # the attachment was on an internal note
    by: UUID
    reason: RequesterText


class TicketAttachmentsRefused(TicketEvent):
    """Files that came with a mail and were not taken (named on the ticket's timeline;
    the notifier tells `by` why, in their language)."""

    verb: ClassVar[str] = "attachments_refused"

    files: list[RefusedFile]
    by: Contact
    by_agent: bool
    message_id: UUID | None = None
    requester: Contact
    subject_line: RequesterText


ATTACHMENT_EVENTS: tuple[type[TicketEvent], ...] = (
    TicketAttachmentsAdded,
    TicketAttachmentRemoved,
    TicketAttachmentsRefused,
)

"""The metadata of a stored file, as commands and events carry it (never bytes).

Its own module so that both the attachments contracts and the tickets contracts
(a reply with files: `AddMessage.files`, `TicketMessageAdded.files`) use it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.personal import REQUESTERS_FILE

FILE_NAME_MAX = 255  # characters of the normalised name (what downloads are called)
ORIGINAL_NAME_MAX = 1024  # the name as the client sent it, shown to people
REASON_MAX = 500
FILES_PER_REQUEST_MAX = 10
# Files one mail may bring (attachments and inline images); the rest are refused
# `too_many_files`, named on the ticket and to the sender (docs/mail.md).
FILES_PER_MAIL_MAX = 20
REFUSED_PER_MAIL_MAX = 100
# Defaults; the deployments set HELPDESK_ATTACHMENT_MAX_BYTES and
# HELPDESK_ATTACHMENT_TICKET_MAX_BYTES (gateway and tickets read the same names).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TICKET_MAX_BYTES = 100 * 1024 * 1024

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
ContentType = Annotated[str, Field(pattern=r"^[a-z0-9.+-]+/[a-z0-9.+-]+$", max_length=100)]


class Scan(StrEnum):
    """The malware scan's verdict when the file was stored (HELPDESK_CLAMD_URL)."""

    NOT_SCANNED = "not_scanned"  # no scanner configured
    CLEAN = "clean"


class Handling(StrEnum):
    """How a stored type may be shown."""

    INLINE = "inline"  # raster images: a thumbnail in the portal
    DOWNLOAD = "download"  # everything else: only ever downloaded
    DOWNLOAD_ONLY = "download_only"  # active content (HTML, SVG): served as octet-stream


class StoredFile(BaseModel):
    """One file as the gateway stored it (the metadata an event carries)."""

    model_config = ConfigDict(frozen=True)

    attachment_id: UUID
    # Sealed in a ticket event (its requester's); plain in a command.
    file_name: Annotated[str, REQUESTERS_FILE] = Field(min_length=1, max_length=FILE_NAME_MAX)
    original_name: Annotated[str, REQUESTERS_FILE] = Field(
        min_length=1, max_length=ORIGINAL_NAME_MAX
    )
    size: int = Field(ge=0)
    content_type: ContentType
    sha256: Sha256
    handling: Handling = Handling.DOWNLOAD
    thumbnail: bool = False  # a `thumb-<sha256>` object exists
    scan: Scan = Scan.NOT_SCANNED

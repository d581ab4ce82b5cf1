"""Receiving attachments over HTTP, for the API and the portal alike.

Starlette's multipart parser receives each file into a spool (1 MiB in
memory, the rest in a temporary file), so a 20 MiB upload costs ~1 MiB of
memory; the body as a whole is bounded by `BodyLimitMiddleware` (as many
files as a request may carry). Each file then goes through the kit's
pipeline (`helpdesk.servicekit.attachments`: size, type, image metadata,
scan) and into the blob store, before the tickets service records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO
from uuid import UUID

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.attachments import (
    FILES_PER_REQUEST_MAX,
    AddAttachments,
    AttachmentList,
    StoredFile,
)
from helpdesk.contracts.replies import FieldError
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.downloads import blob_store
from helpdesk.gateway.multipart import ReceivedFile
from helpdesk.gateway.problems import ProblemError
from helpdesk.servicekit.attachments import FileRefused, Prepared, prepare, store
from helpdesk.servicekit.attachments.clamd import ScanUnavailable
from helpdesk.servicekit.blobs import BlobUnavailable

FILE_FIELD = "file"


def uploaded_files(form: FormData, field: str = FILE_FIELD) -> list[UploadFile]:
    """The non-empty files of the form's `field` (a portal form sends an empty part
    when no file was chosen)."""
    found = [f for f in form.getlist(field) if isinstance(f, UploadFile)]
    return [f for f in found if f.filename or (f.size or 0) > 0]


def _refusal(refused: FileRefused, name: str | None) -> ProblemError:
    detail = f"{name}: {refused.detail}" if name else refused.detail
    return ProblemError(
        refused.status,
        refused.code,
        detail,
        errors=[FieldError(field=FILE_FIELD, message=detail)],
    )


async def prepare_all(request: Request, files: list[UploadFile]) -> list[Prepared]:
    """Check and clean every file first: one refused file refuses the request."""
    return await prepare_received(
        request,
        [(f.filename or "file", f.file) for f in files],  # type: ignore[misc]
    )


async def prepare_received(
    request: Request, files: Sequence[ReceivedFile | tuple[str, BinaryIO]]
) -> list[Prepared]:
    """`prepare_all` for files from the API's streaming reader (`multipart.py`)."""
    settings = gateway_of(request).settings
    if len(files) > FILES_PER_REQUEST_MAX:
        raise ProblemError(
            422,
            "too_many_files",
            f"At most {FILES_PER_REQUEST_MAX} files at once.",
            errors=[FieldError(field=FILE_FIELD, message="too many files")],
        )
    prepared = []
    for upload in files:
        name, source = (
            (upload.filename, upload.file) if isinstance(upload, ReceivedFile) else upload
        )
        try:
            prepared.append(
                await prepare(
                    name,
                    source,  # type: ignore[arg-type]
                    max_bytes=settings.attachment_max_bytes,
                    clamd_url=settings.clamd_url,
                )
            )
        except FileRefused as refused:
            raise _refusal(refused, name) from None
        except ScanUnavailable as exc:
            raise ProblemError(
                503, "unavailable", "The malware scan is briefly unavailable.", retry_after=30
            ).with_log(str(exc)) from None
    return prepared


async def store_all(request: Request, prepared: list[Prepared]) -> list[StoredFile]:
    blobs = blob_store(request)
    try:
        return [await store(blobs, p) for p in prepared]
    except BlobUnavailable as exc:
        raise ProblemError(
            503, "unavailable", "Attachments are briefly unavailable.", retry_after=5
        ).with_log(str(exc)) from None


async def attach(
    request: Request,
    actor: Actor,
    ticket_id: UUID,
    prepared: list[Prepared],
    *,
    internal: bool = False,
    message_id: UUID | None = None,
) -> AttachmentList:
    """Store the prepared files and record them on the ticket."""
    stored = await store_all(request, prepared)
    return await send(
        request,
        AddAttachments(
            actor=actor, ticket_id=ticket_id, files=stored, internal=internal, message_id=message_id
        ),
    )

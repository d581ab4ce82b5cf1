"""/api/v1/tickets/{id}/attachments: upload (multipart), list, download, thumbnail,
remove. Contracts in `helpdesk.contracts.attachments`; decisions in
docs/attachments.md."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from helpdesk.contracts.attachments import (
    FILES_PER_REQUEST_MAX,
    Attachment,
    AttachmentList,
    AttachmentRemoval,
    ListAttachments,
    RemoveAttachment,
)
from helpdesk.contracts.replies import FieldError
from helpdesk.gateway import downloads, multipart, uploads
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.openapi import answers
from helpdesk.gateway.problems import ProblemError
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

router = APIRouter(prefix="/api/v1/tickets/{ticket_id}/attachments", tags=["attachments"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "maxItems": FILES_PER_REQUEST_MAX,
                            "description": "one or more files (HELPDESK_ATTACHMENT_MAX_BYTES each)",
                        },
                        "internal": {
                            "type": "boolean",
                            "description": "agents: an internal note's",
                        },
                        "message_id": {"type": "string", "format": "uuid"},
                    },
                }
            }
        },
    }
}


# A download is served as the file's own type (images inline), or octet-stream.
_BYTES = {"schema": {"type": "string", "format": "binary"}}


def _served(
    *problems: str, successes: dict[int, tuple[str, str]]
) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route that serves stored bytes (downloads.py): its successes
    (status: content type, description), 304 for a matching If-None-Match, and the
    problems of a missing or removed attachment and `problems`."""
    extra: dict[int | str, dict[str, Any]] = {
        status: {"content": {media_type: _BYTES}, "description": description}
        for status, (media_type, description) in successes.items()
    }
    extra[304] = {"description": "not modified (If-None-Match)"}
    return answers("not_found", "attachment_removed", *problems, extra=extra)


def _flag(value: object) -> bool:
    return isinstance(value, str) and value.lower() in ("1", "true", "on", "yes")


@router.post(
    "",
    status_code=201,
    response_model=AttachmentList,
    openapi_extra=_UPLOAD_BODY,
    responses=answers(
        "not_found",
        "forbidden",
        "ticket_closed",
        "bad_request",
        "file_too_large",
        "ticket_files_too_large",
        "ticket_attachments_full",
        "unsupported_media_type",
        "unsupported_type",
        "too_many_files",
        "empty_file",
        "damaged_image",
        "image_too_large",
        "unreadable_file",
        "malware_found",
    ),
)
async def upload(request: Request, actor: CurrentActor, ticket_id: UUID) -> AttachmentList:
    """Attach files to a ticket (the requester, agents; `internal` for agents only).

    The type is decided from the bytes; images lose their EXIF/GPS metadata."""
    # The ticket first: someone else's is 404 before a byte of the body is read.
    await send(request, ListAttachments(actor=actor, ticket_id=ticket_id))
    settings = gateway_of(request).settings
    boundary = multipart.boundary_of(request.headers.get("content-type", ""))
    try:
        received = await multipart.read(
            request.stream(),
            boundary,
            max_file_bytes=settings.attachment_max_bytes,
            max_files=FILES_PER_REQUEST_MAX,
        )
    except multipart.TooLarge as too_large:
        limit = settings.attachment_max_bytes
        raise ProblemError(
            413,
            "file_too_large",
            f"{too_large.name}: files may be at most {limit} bytes",
            errors=[FieldError(field="file", message=f"larger than {limit} bytes")],
        ) from None
    try:
        files = [f for f in received.files if f.field == uploads.FILE_FIELD]
        if not files:
            raise ProblemError(
                422, "validation_error", "Send one or more files in the field 'file'."
            )
        message = received.fields.get("message_id")
        prepared = await uploads.prepare_received(request, files)
        return await uploads.attach(
            request,
            actor,
            ticket_id,
            prepared,
            internal=_flag(received.fields.get("internal")),
            message_id=UUID(message) if message else None,
        )
    except ValueError:
        raise ProblemError(422, "validation_error", "message_id is not a UUID.") from None
    finally:
        received.close()


@router.get("", response_model=AttachmentList, responses=answers("not_found"))
async def list_attachments(
    request: Request, actor: CurrentActor, ticket_id: UUID
) -> AttachmentList:
    return await send(request, ListAttachments(actor=actor, ticket_id=ticket_id))


async def _of_the_path(
    request: Request, actor: CurrentActor, ticket_id: UUID, attachment_id: UUID
) -> Attachment:
    """The path's attachment as the caller may see it: 404 for others' tickets."""
    return await downloads.attachment_for(request, actor, ticket_id, attachment_id)


# The attachment a download route serves.
PathAttachment = Annotated[Attachment, Depends(_of_the_path)]


@router.get(
    "/{attachment_id}",
    response_class=Response,
    responses=_served(
        "range_not_satisfiable",
        successes={200: ("*/*", "the bytes, as stored"), 206: ("*/*", "a byte range")},
    ),
)
async def download(request: Request, attachment: PathAttachment) -> Response:
    """The bytes, as a download (`ETag` = SHA-256, byte ranges); 404 for others' tickets."""
    return await downloads.serve(request, attachment)


@router.get(
    "/{attachment_id}/thumbnail",
    response_class=Response,
    responses=_served(successes={200: ("image/png", "a small preview")}),
)
async def thumbnail(request: Request, attachment: PathAttachment) -> Response:
    return await downloads.serve_thumbnail(request, attachment)


@router.delete(
    "/{attachment_id}", response_model=Attachment, responses=answers("forbidden", "not_found")
)
async def remove(
    request: Request,
    actor: CurrentActor,
    ticket_id: UUID,
    attachment_id: UUID,
    body: AttachmentRemoval,
) -> Attachment:
    """Agents and admins: erase the file (with a reason); the ticket shows it removed."""
    return await send(
        request,
        RemoveAttachment(
            actor=actor, ticket_id=ticket_id, attachment_id=attachment_id, reason=body.reason
        ),
    )

"""Serving stored attachments: one response builder for the API and the portal.

* `Content-Disposition: attachment` with the RFC 6266 / RFC 5987 name pair
  (an ASCII fallback and `filename*=UTF-8''…`, so Greek names survive);
* `X-Content-Type-Options: nosniff` and a CSP that runs nothing
  (`default-src 'none'; sandbox`); active types (HTML, SVG) are served as
  `application/octet-stream`;
* `ETag` = the SHA-256 (the content's own name), `If-None-Match` → 304;
* one byte range (`Range: bytes=a-b`, `If-Range`) → 206, unsatisfiable → 416;
  several ranges are answered with the whole file (RFC 9110 allows it);
* the body streamed from the object store a chunk at a time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from urllib.parse import quote
from uuid import UUID

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.attachments import Attachment, GetAttachment, Handling
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.problems import ProblemError
from helpdesk.servicekit.attachments import thumbnail_name
from helpdesk.servicekit.blobs import BlobInfo, BlobStore, BlobUnavailable

DOWNLOAD_POLICY = "default-src 'none'; sandbox"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def blob_store(request: Request) -> BlobStore:
    blobs = gateway_of(request).blobs
    if blobs is None:
        raise ProblemError(
            503, "unavailable", "Attachments are briefly unavailable.", retry_after=5
        )
    return blobs


def content_disposition(name: str, disposition: str = "attachment") -> str:
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", fallback).strip() or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def served_type(attachment: Attachment) -> str:
    if attachment.handling is Handling.DOWNLOAD_ONLY:
        return "application/octet-stream"
    return attachment.content_type


def _byte_range(request: Request, size: int, etag: str) -> tuple[int, int] | None:
    """(start, end exclusive) of a single satisfiable range; None for the whole file."""
    header = request.headers.get("range")
    if not header or "," in header:
        return None
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != etag:
        return None
    found = _RANGE.fullmatch(header.strip())
    if not found or found.groups() == ("", ""):
        return None
    first, last = found.groups()
    if first == "":  # the last N bytes
        start, end = max(size - int(last), 0), size
    else:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
    if start >= size or start >= end:
        raise ProblemError(416, "range_not_satisfiable", f"The file has {size} bytes.")
    return start, end


async def _chunks(blobs: BlobStore, info: BlobInfo, start: int, end: int) -> AsyncIterator[bytes]:
    async for chunk in blobs.read(info, start, end):
        yield chunk


async def _info(blobs: BlobStore, name: str) -> BlobInfo:
    try:
        info = await blobs.info(name)
    except BlobUnavailable as exc:
        raise ProblemError(
            503, "unavailable", "Attachments are briefly unavailable.", retry_after=5
        ).with_log(str(exc)) from None
    if info is None:
        raise ProblemError(410, "attachment_removed", "This attachment has been removed.")
    return info


async def attachment_for(
    request: Request, actor: Actor, ticket_id: UUID, attachment_id: UUID
) -> Attachment:
    """The attachment as `actor` may see it: 404 for someone else's ticket."""
    return await send(
        request, GetAttachment(actor=actor, ticket_id=ticket_id, attachment_id=attachment_id)
    )


async def serve(request: Request, attachment: Attachment) -> Response:
    if attachment.removed:
        raise ProblemError(410, "attachment_removed", "This attachment has been removed.")
    blobs = blob_store(request)
    info = await _info(blobs, attachment.sha256)
    etag = f'"{attachment.sha256}"'
    headers = {
        "ETag": etag,
        "Content-Disposition": content_disposition(attachment.file_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_POLICY,
        "Cache-Control": "private, no-cache",
        "Accept-Ranges": "bytes",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    try:
        byte_range = _byte_range(request, info.size, etag)
    except ProblemError as problem:
        response = problem.response(request.url.path)
        response.headers["Content-Range"] = f"bytes */{info.size}"
        return response
    start, end = byte_range or (0, info.size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return StreamingResponse(
        _chunks(blobs, info, start, end),
        status_code=status,
        media_type=served_type(attachment),
        headers=headers,
    )


async def serve_thumbnail(request: Request, attachment: Attachment) -> Response:
    if attachment.removed or not attachment.thumbnail:
        raise ProblemError(404, "not_found", "This attachment has no thumbnail.")
    blobs = blob_store(request)
    info = await _info(blobs, thumbnail_name(attachment.sha256))
    etag = f'"thumb-{attachment.sha256}"'
    headers = {
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_POLICY,
        # The same bytes for ever (content-addressed); private: it is someone's ticket.
        "Cache-Control": "private, max-age=86400, immutable",
        "Content-Disposition": content_disposition("thumbnail.png", "inline"),
        "Content-Length": str(info.size),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return StreamingResponse(
        _chunks(blobs, info, 0, info.size), media_type="image/png", headers=headers
    )

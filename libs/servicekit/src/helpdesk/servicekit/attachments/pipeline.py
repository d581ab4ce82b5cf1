"""From an uploaded file to stored bytes and the metadata the events carry.

`prepare` checks and cleans a file that has been received into a spool (memory
up to 1 MiB, then a temporary file: memory stays bounded whatever the size):
the size limit (413), the type from its bytes (415), image metadata stripped
and a thumbnail made, the optional malware scan. Nothing is stored before all
of that has passed: until then the file exists only in the receiving
process's spool (its quarantine). `store` then writes it to the blob store
under its SHA-256 (once, however often it is uploaded) with its thumbnail.

The gateway calls both for REST and portal uploads; the mail gateway calls the
same two for the attachments of inbound mail (`from_bytes` spools a mail part
first), with attachment ids derived from the mail so a retry stores and
records nothing twice (docs/attachments.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from typing import IO, BinaryIO
from uuid import UUID, uuid4

from helpdesk.contracts.attachments import Handling, Scan, StoredFile
from helpdesk.servicekit.attachments import clamd
from helpdesk.servicekit.attachments.files import (
    Detected,
    FileRefused,
    detect,
    display_name,
    storage_name,
)
from helpdesk.servicekit.attachments.images import clean
from helpdesk.servicekit.blobs import BlobStore

SPOOL_BYTES = 1024 * 1024
# Images decoded at once per process: each can take ~160 MB while decoding.
_DECODERS = asyncio.Semaphore(2)
_HASH_CHUNK = 1024 * 1024


def thumbnail_name(sha256: str) -> str:
    return f"thumb-{sha256}"


@dataclass
class Prepared:
    original_name: str
    file_name: str
    detected: Detected
    data: IO[bytes] | BinaryIO
    size: int
    sha256: str
    thumbnail: bytes | None
    scan: Scan


def _size(source: BinaryIO) -> int:
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


def _sha256(source: BinaryIO | IO[bytes]) -> str:
    source.seek(0)
    digest = hashlib.sha256()
    while chunk := source.read(_HASH_CHUNK):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


async def prepare(
    name: str, source: BinaryIO, *, max_bytes: int, clamd_url: str | None = None
) -> Prepared:
    """Check and clean one received file; `FileRefused` says why not."""
    size = _size(source)
    if size > max_bytes:
        raise FileRefused(413, "file_too_large", f"files may be at most {max_bytes} bytes")
    if size == 0:
        raise FileRefused(422, "empty_file", "the file is empty")
    detected = await asyncio.to_thread(detect, source)
    data: IO[bytes] | BinaryIO = source
    thumbnail = None
    if detected.handling is Handling.INLINE:
        async with _DECODERS:
            cleaned = await asyncio.to_thread(clean, source, detected.content_type)
        data, thumbnail = cleaned.data, cleaned.thumbnail
        size = _size(data)  # type: ignore[arg-type]
    sha256 = await asyncio.to_thread(_sha256, data)
    scan = Scan.NOT_SCANNED
    if clamd_url:
        await clamd.scan(clamd_url, data)  # type: ignore[arg-type]
        data.seek(0)
        scan = Scan.CLEAN
    return Prepared(
        original_name=display_name(name),
        file_name=storage_name(name),
        detected=detected,
        data=data,
        size=size,
        sha256=sha256,
        thumbnail=thumbnail,
        scan=scan,
    )


def from_bytes(data: bytes) -> BinaryIO:
    """A spool holding `data` (memory up to 1 MiB, then a temporary file), for `prepare`."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
    spool.write(data)
    spool.seek(0)
    return spool  # type: ignore[return-value]


async def store(
    blobs: BlobStore, prepared: Prepared, *, attachment_id: UUID | None = None
) -> StoredFile:
    """Write the bytes (skipped when already stored) and the thumbnail (made once).
    `attachment_id`: a stable id when the caller may retry (mail); new otherwise."""
    prepared.data.seek(0)
    await blobs.put(prepared.sha256, prepared.data)  # type: ignore[arg-type]
    if prepared.thumbnail is not None:
        await blobs.put(thumbnail_name(prepared.sha256), io.BytesIO(prepared.thumbnail))
    return StoredFile(
        attachment_id=attachment_id or uuid4(),
        file_name=prepared.file_name,
        original_name=prepared.original_name,
        size=prepared.size,
        content_type=prepared.detected.content_type,
        sha256=prepared.sha256,
        handling=prepared.detected.handling,
        thumbnail=prepared.thumbnail is not None,
        scan=prepared.scan,
    )

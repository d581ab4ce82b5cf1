"""A mail's files through the same pipeline as the gateway's uploads: the kit's
`prepare` (size limit, type from the bytes, EXIF stripped, thumbnail, optional
clamd scan) and `store` (the NATS object store, content-addressed), with the
attachment id the mail gives each part (docs/attachments.md)."""

from __future__ import annotations

from uuid import UUID

from helpdesk.contracts.attachments import StoredFile
from helpdesk.servicekit.attachments import FileRefused, from_bytes, prepare, store
from helpdesk.servicekit.attachments.clamd import ScanUnavailable
from helpdesk.servicekit.blobs import BlobStore, BlobUnavailable
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)
# Worth another attempt later: the object store or the scanner away.
TRANSIENT = (BlobUnavailable, ScanUnavailable, OSError, TimeoutError)


class KitFiles:
    def __init__(self, blobs: BlobStore, *, max_bytes: int, clamd_url: str | None) -> None:
        self.blobs = blobs
        self.max_bytes = max_bytes
        self.clamd_url = clamd_url

    async def store(self, name: str, data: bytes, attachment_id: UUID) -> StoredFile:
        try:
            return await self._store(name, data, attachment_id)
        except (FileRefused, *TRANSIENT):
            raise
        except Exception as exc:  # a file the pipeline chokes on must not hold the mail
            log.error("mail file unreadable", error=type(exc).__name__, exc_info=exc)
            raise FileRefused(422, "unreadable_file", "the file could not be read") from None

    async def _store(self, name: str, data: bytes, attachment_id: UUID) -> StoredFile:
        with from_bytes(data) as spool:
            prepared = await prepare(
                name, spool, max_bytes=self.max_bytes, clamd_url=self.clamd_url
            )
            try:
                return await store(self.blobs, prepared, attachment_id=attachment_id)
            finally:
                if prepared.data is not spool:  # the cleaned copy of an image
                    prepared.data.close()

"""Attachments outside the aggregate: the read model of stored objects, and the
eraser that deletes an object's bytes once no live attachment holds them.

The eraser is a durable consumer of the service's own `TicketAttachmentRemoved`
(stream TICKETS): retried with back-off while the object store is away, parked
as a dead letter (and re-drivable) if it never comes back. Deleting an object
twice is harmless, so a redelivery after a crash does no damage. An object
held by another live attachment (the same file on another ticket: storage is
content-addressed) is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from helpdesk.contracts.attachments import TicketAttachmentRemoved, TicketAttachmentsAdded
from helpdesk.servicekit.attachments.pipeline import thumbnail_name
from helpdesk.servicekit.blobs import BlobStore
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.events import EventHandlers, on_events
from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.projections import ByEventType

log = get_logger(__name__)

ERASER = "tickets-attachment-eraser"


async def _files_added(conn: Connection, recorded: RecordedEvent) -> None:
    event = TicketAttachmentsAdded.model_validate(recorded.data)
    await conn.executemany(
        "INSERT INTO attachments (attachment_id, ticket_id, sha256, size, thumbnail)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (attachment_id) DO NOTHING",
        [(f.attachment_id, event.ticket_id, f.sha256, f.size, f.thumbnail) for f in event.files],
    )


async def _file_removed(conn: Connection, recorded: RecordedEvent) -> None:
    event = TicketAttachmentRemoved.model_validate(recorded.data)
    await conn.execute(
        "UPDATE attachments SET removed = true WHERE attachment_id = $1", event.attachment_id
    )


class AttachmentsProjection:
    name = "attachments"
    tables: Sequence[str] = ("attachments",)
    apply = ByEventType(
        {TicketAttachmentsAdded: _files_added, TicketAttachmentRemoved: _file_removed}
    )
    handles = apply.handles  # what `apply` changes anything for (projections.writes_of)


async def live_holders(conn: Connection, sha256: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM attachments WHERE sha256 = $1 AND NOT removed", sha256
        )
    )


async def on_attachment_removed(event: TicketAttachmentRemoved, deps: EraserDeps) -> None:
    """The bytes go when no other attachment holds them (content-addressed store)."""
    if await live_holders(deps.conn, event.sha256):
        log.info("attachment bytes kept: held elsewhere", sha256=event.sha256)
        return
    await deps.blobs.delete(event.sha256)
    await deps.blobs.delete(thumbnail_name(event.sha256))
    log.info("attachment bytes erased", attachment_id=str(event.attachment_id))


@dataclass(frozen=True)
class EraserDeps:
    blobs: BlobStore
    conn: Connection


ERASER_HANDLERS: EventHandlers[EraserDeps] = {TicketAttachmentRemoved: on_attachment_removed}


def eraser(blobs: BlobStore) -> EventConsumer:
    return on_events(ERASER, ERASER_HANDLERS, lambda delivery: EraserDeps(blobs, delivery.conn))

"""Mail for files an agent added to a ticket (a reply's files go with the reply's
mail instead: `mail_files`, used by ticket_mails.message_added): the requester gets them attached,
up to `HELPDESK_MAIL_ATTACHMENT_MAX_BYTES` in all; files beyond that are
links to the portal's download (which asks the requester to log in).

Internal notes' files and the requester's own files send nothing. The
delivery row stores references (SHA-256, name, type); the sender fetches the
bytes from the object store when it sends (`MailFiles`), so a blob store
outage delays the mail (retried like an SMTP outage), never drops it.
"""

from __future__ import annotations

import email
from email import encoders
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from uuid import UUID

from helpdesk.contracts.attachments import Handling, StoredFile, TicketAttachmentsAdded
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.notifier.compose import ComposedMail, MailFile
from helpdesk.notifier.mailer import Mailer
from helpdesk.notifier.threading import thread_headers
from helpdesk.servicekit.blobs import BlobStore, BlobUnavailable
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.mailformat import MAIL_POLICY

TEMPLATE = "ticket_files"


def mail_files(
    mailer: Mailer, stored: list[StoredFile], ticket_id: UUID, locale: str
) -> tuple[list[MailFile], list[tuple[str, str]]]:
    """The files a mail carries, up to HELPDESK_MAIL_ATTACHMENT_MAX_BYTES in all,
    and (name, portal link) for the rest."""
    budget = mailer.settings.mail_attachment_max_bytes
    attached: list[MailFile] = []
    linked: list[tuple[str, str]] = []
    for f in stored:
        if f.size <= budget:
            budget -= f.size
            content_type = (
                "application/octet-stream"
                if f.handling is Handling.DOWNLOAD_ONLY
                else f.content_type
            )
            attached.append(MailFile(f.sha256, f.file_name, content_type))
        else:
            page = f"tickets/{ticket_id}/attachments/{f.attachment_id}"
            linked.append((f.original_name, mailer.link(locale, page)))
    return attached, linked


async def files_added(mailer: Mailer, conn: Connection, envelope: EventEnvelope) -> None:
    event = envelope.open(TicketAttachmentsAdded)
    requester = event.requester
    if event.internal or not event.by_agent or not requester.email:
        return
    if event.with_message:
        return  # the reply's own mail carries them (ticket_mails.message_added)
    locale = requester.locale
    attached, linked = mail_files(mailer, event.files, event.ticket_id, locale)
    await mailer.queue(
        conn,
        event_id=envelope.event_id,
        to=requester.email,
        to_name=requester.name,
        template=TEMPLATE,
        locale=locale,
        context={
            "name": requester.name or "",
            "number": event.number,
            "author": event.by.name or "",
            "attached": [a.file_name for a in attached],
            "linked": linked,
            "link": mailer.link(locale, f"tickets/{event.ticket_id}"),
        },
        attachments=tuple(attached),
        # Answerable like every ticket mail: the answer threads to the ticket.
        headers=thread_headers(mailer.settings, event.ticket_id),
    )


class MailFiles:
    """Puts a delivery's files into its message at send time."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    async def _bytes(self, sha256: str) -> bytes:
        info = await self.blobs.info(sha256)
        if info is None:
            raise BlobUnavailable(f"{sha256}: not in the store (removed since?)")
        return b"".join([chunk async for chunk in self.blobs.read(info)])

    async def __call__(self, mail: ComposedMail) -> ComposedMail:
        if not mail.attachments:
            return mail
        # The composed headers are copied as written (already encoded and folded).
        original = email.message_from_bytes(mail.data, policy=MAIL_POLICY)
        mixed = MIMEMultipart("mixed", policy=MAIL_POLICY)
        for name, value in original.items():
            if name.lower() not in ("content-type", "mime-version", "content-transfer-encoding"):
                mixed[name] = value
        body = MIMEMultipart("alternative", policy=MAIL_POLICY)
        for part in original.get_payload():  # type: ignore[union-attr]
            body.attach(part)  # type: ignore[arg-type]
        mixed.attach(body)
        for file in mail.attachments:
            maintype, _, subtype = file.content_type.partition("/")
            part = MIMEBase(maintype, subtype, policy=MAIL_POLICY)
            part.set_payload(await self._bytes(file.sha256))
            encoders.encode_base64(part)
            part.add_header(
                "Content-Disposition", "attachment", filename=("utf-8", "", file.file_name)
            )
            mixed.attach(part)
        return ComposedMail(
            sender=mail.sender,
            recipient=mail.recipient,
            message_id=mail.message_id,
            data=mixed.as_bytes(),
        )

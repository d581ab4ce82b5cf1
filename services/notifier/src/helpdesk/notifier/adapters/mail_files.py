"""Puts a delivery's files into its message at send time, from the object store
(`MailQueue` keeps references, never bytes): an object store that is away
delays the mail like an SMTP outage, never drops it."""

from __future__ import annotations

import email
from email import encoders
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart

from helpdesk.notifier.adapters.compose import ComposedMail
from helpdesk.servicekit.blobs import BlobStore, BlobUnavailable
from helpdesk.servicekit.mailformat import MAIL_POLICY


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

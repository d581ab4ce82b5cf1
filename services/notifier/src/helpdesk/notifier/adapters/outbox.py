"""The mail queue as the handlers' `Outbox`: a mail of the event being handled,
composed and recorded on the handler's connection, once per (event, recipient,
template) (`Mailer.queue`)."""

from __future__ import annotations

from uuid import UUID

from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.servicekit.db import Connection


class QueuedMails:
    def __init__(self, mailer: Mailer, conn: Connection, event_id: UUID) -> None:
        self.mailer = mailer
        self.conn = conn
        self.event_id = event_id

    async def mail(self, mail: OutgoingMail) -> bool:
        return await self.mailer.queue(self.conn, self.event_id, mail)

"""The mail queue as the handlers' `Outbox`: a mail of the event being handled,
composed and recorded on the handler's connection, once per (event, recipient,
template) (`Mailer.queue`), with whose it is (`Concerned`, for an erasure)."""

from __future__ import annotations

from uuid import UUID

from helpdesk.notifier.adapters.erasure import Concerned
from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.servicekit.db import Connection


class QueuedMails:
    def __init__(
        self,
        mailer: Mailer,
        conn: Connection,
        event_id: UUID,
        concerned: Concerned | None = None,
    ) -> None:
        self.mailer = mailer
        self.conn = conn
        self.event_id = event_id
        self.concerned = concerned

    async def mail(self, mail: OutgoingMail) -> bool:
        if self.concerned is not None:
            mail = self.concerned.whose(mail)
        return await self.mailer.queue(self.conn, self.event_id, mail)

"""The mail queue as the handlers' `Outbox`: a mail of the event being handled,
composed and recorded on the handler's connection, once per (event, recipient,
template) (`Mailer.queue`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.domain.files import MailFile
from helpdesk.servicekit.db import Connection


class QueuedMails:
    def __init__(self, mailer: Mailer, conn: Connection, event_id: UUID) -> None:
        self.mailer = mailer
        self.conn = conn
        self.event_id = event_id

    async def mail(
        self,
        *,
        to: str,
        template: str,
        locale: str,
        context: dict[str, Any],
        to_name: str | None = None,
        headers: Mapping[str, str] | None = None,
        attachments: tuple[MailFile, ...] = (),
    ) -> bool:
        return await self.mailer.queue(
            self.conn,
            event_id=self.event_id,
            to=to,
            to_name=to_name,
            template=template,
            locale=locale,
            context=context,
            headers=headers,
            attachments=attachments,
        )

"""What the mail modules use: compose a mail and record it, once per
(event, recipient, template), keyed by that triple. Sending happens
once recorded, in the sender loop (`sender.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from helpdesk.notifier.adapters.compose import ComposedMail, MailComposer
from helpdesk.notifier.adapters.queue import MailQueue
from helpdesk.notifier.domain.files import MailFile
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.composer = MailComposer(settings)

    def link(self, locale: str, page: str) -> str:
        return self.composer.link(locale, page)

    def compose(self, **kwargs: Any) -> ComposedMail:
        return self.composer.compose(**kwargs)

    async def queue(
        self,
        conn: Connection,
        *,
        event_id: UUID,
        to: str,
        template: str,
        locale: str,
        context: dict[str, Any],
        to_name: str | None = None,
        headers: Mapping[str, str] | None = None,
        attachments: tuple[MailFile, ...] = (),
    ) -> bool:
        """Record the mail unless this (event, recipient, template) already was.

        The row's key is the triple, so recording the same mail again (a
        redelivered event) is a no-op: the mail consumers need no inbox
        (`EventConsumer(inbox=False)`), and an event whose handler crashed
        between two mails gets only the missing one when it comes back.
        """
        mail = self.composer.compose(
            event_id=event_id,
            to=to,
            to_name=to_name,
            template=template,
            locale=locale,
            context=context,
            headers=headers,
            attachments=attachments,
        )
        queued = await MailQueue.enqueue(conn, event_id=event_id, template=template, mail=mail)
        if queued:
            log.info("mail queued", template=template, event_id=str(event_id), locale=locale)
        return queued

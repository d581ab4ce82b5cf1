"""What the mail modules use: compose a mail and record it, once per
(event, recipient, template), keyed by that triple. Sending happens
once recorded, in the sender loop (`sender.py`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from helpdesk.notifier.adapters.compose import ComposedMail, MailComposer
from helpdesk.notifier.adapters.queue import MailQueue
from helpdesk.notifier.domain.mail import OutgoingMail
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

    async def queue(self, conn: Connection, event_id: UUID, mail: OutgoingMail) -> bool:
        """Record the mail unless this (event, recipient, template) already was.

        The row's key is the triple, so recording the same mail again (a
        redelivered event) is a no-op: the mail consumers need no inbox
        (`on_events(..., inbox=False)`), and an event whose handler crashed
        between two mails gets only the missing one when it comes back.
        """
        composed = self.composer.compose(event_id=event_id, **mail.parts())
        queued = await MailQueue.enqueue(
            conn,
            event_id=event_id,
            template=mail.template,
            mail=composed,
            recipient_id=mail.to_id,
            people=mail.about,
        )
        if queued:
            log.info(
                "mail queued", template=mail.template, event_id=str(event_id), locale=mail.locale
            )
        return queued

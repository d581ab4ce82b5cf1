"""Mails for the ticket events.

* Requester: confirmation (number, priority in their language, promised first
  response), agents' public replies, "resolved".
* Assignee: the requester's replies; SLA warnings and breaches (the on-call
  address when nobody is assigned; breaches always reach on-call too).
* On-call (`HELPDESK_ONCALL_EMAIL`): pages for urgent and critical tickets —
  their own consumers subscribe to `tickets.events.ticket.*.urgent` and
  `*.critical` only, so nothing else is even delivered to them — and the
  escalation of a critical ticket nobody acknowledged.

Each mail is recorded once per (event, recipient, template) by `Mailer.queue`
and sent after commit by the sender loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from helpdesk.contracts import tickets
from helpdesk.contracts.attachments import TicketAttachmentsAdded, TicketAttachmentsRefused
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.priorities import PRIORITY_TEXT, Priority
from helpdesk.contracts.subjects import events_of
from helpdesk.contracts.tickets import (
    Contact,
    SlaTarget,
    TicketEscalated,
    TicketEvent,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketStatus,
    TicketStatusChanged,
    TicketSubmitted,
)
from helpdesk.notifier import attachment_mails, refused_files_mails
from helpdesk.notifier.compose import local_time
from helpdesk.notifier.mailer import CONSUMER_WORKERS, Mailer
from helpdesk.notifier.threading import thread_headers
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

MAILS_CONSUMER = "notifier-ticket-mails"
# The events that page: a ticket submitted at, or raised to, the consumer's priority.
PAGED = frozenset({TicketSubmitted.event_type, TicketPriorityChanged.event_type})
PAGE_CONSUMERS = {
    Priority.URGENT: "notifier-page-urgent",
    Priority.CRITICAL: "notifier-page-critical",
}
ONCALL_LOCALE = "el"

TARGET_LABEL = {
    SlaTarget.FIRST_RESPONSE: {"el": "πρώτης απάντησης", "en": "first response"},
    SlaTarget.RESOLUTION: {"el": "επίλυσης", "en": "resolution"},
}


def priority_label(priority: Priority, locale: str) -> str:
    texts = PRIORITY_TEXT[priority]
    return texts.get(locale, texts["el"]).label


Handler = Callable[[Connection, EventEnvelope], Awaitable[None]]


class TicketMails:
    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.oncall = str(mailer.settings.oncall_email)
        self.handlers: dict[str, Handler] = {
            TicketSubmitted.event_type: self.submitted,
            TicketMessageAdded.event_type: self.message_added,
            TicketStatusChanged.event_type: self.status_changed,
            TicketSlaWarning.event_type: self.sla_warning,
            TicketSlaBreached.event_type: self.sla_breached,
            TicketEscalated.event_type: self.escalated,
            TicketAttachmentsAdded.event_type: partial(attachment_mails.files_added, mailer),
            TicketAttachmentsRefused.event_type: partial(refused_files_mails.files_refused, mailer),
        }

    async def handle(self, conn: Connection, envelope: EventEnvelope) -> None:
        """Ticket mails: confirmation, replies, resolved, SLA alarms, escalation."""
        handler = self.handlers.get(envelope.event_type)
        if handler is not None:
            await handler(conn, envelope)

    async def page(self, conn: Connection, envelope: EventEnvelope) -> None:
        """Page the on-call address for an urgent or critical ticket."""
        if envelope.event_type == TicketSubmitted.event_type:
            submitted = envelope.open(TicketSubmitted)
            if not submitted.page:
                return
            context = self._page_context(
                submitted.ticket_id,
                submitted.number,
                submitted.subject_line,
                submitted.priority,
                submitted.queue,
                submitted.requester,
                submitted.first_response_due,
                raised_from=None,
            )
        elif envelope.event_type == TicketPriorityChanged.event_type:
            changed = envelope.open(TicketPriorityChanged)
            if not changed.page:
                return
            context = self._page_context(
                changed.ticket_id,
                changed.number,
                changed.subject_line,
                changed.priority,
                changed.queue,
                changed.requester,
                changed.first_response_due,
                raised_from=priority_label(changed.from_priority, ONCALL_LOCALE),
            )
        else:
            return
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=self.oncall,
            template="ticket_page",
            locale=ONCALL_LOCALE,
            context=context,
        )

    def _page_context(
        self,
        ticket_id: Any,
        number: str,
        subject: str,
        priority: Priority,
        queue: str,
        requester: Contact,
        first_response_due: datetime | None,
        raised_from: str | None,
    ) -> dict[str, Any]:
        return {
            "number": number,
            "subject": subject,
            "priority": priority_label(priority, ONCALL_LOCALE),
            "priority_key": priority.value,
            "queue": queue,
            "requester": requester.name or requester.email or str(requester.user_id),
            "first_response_due": local_time(first_response_due),
            "raised_from": raised_from,
            "link": self.mailer.link(ONCALL_LOCALE, f"tickets/{ticket_id}"),
        }

    async def submitted(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(TicketSubmitted)
        requester = event.requester
        if not requester.email:
            log.warning("no address for the requester", ticket_id=str(event.ticket_id))
            return
        locale = requester.locale
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=requester.email,
            to_name=requester.name,
            template="ticket_submitted",
            locale=locale,
            headers=thread_headers(self.mailer.settings, event.ticket_id),
            context={
                "name": requester.name or "",
                "number": event.number,
                "subject": event.subject_line,
                "priority": priority_label(event.priority, locale),
                "first_response_due": local_time(event.first_response_due),
                "link": self.mailer.link(locale, f"tickets/{event.ticket_id}"),
            },
        )

    async def message_added(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(TicketMessageAdded)
        if event.internal:
            return
        if event.by_agent:
            recipient: Contact | None = event.requester
            template = "ticket_reply"
        else:
            recipient = event.assignee  # the requester answered: tell whoever has it
            template = "ticket_requester_reply"
        if recipient is None or not recipient.email or recipient.user_id == event.author.user_id:
            return
        locale = recipient.locale
        # One mail: the reply and the files that came with it (links past the cap).
        attached, linked = attachment_mails.mail_files(
            self.mailer, event.files, event.ticket_id, locale
        )
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=recipient.email,
            to_name=recipient.name,
            template=template,
            locale=locale,
            headers=thread_headers(self.mailer.settings, event.ticket_id),
            context={
                "name": recipient.name or "",
                "number": event.number,
                "author": event.author.name or "",
                "body": event.body,
                "attached": [a.file_name for a in attached],
                "linked": linked,
                "link": self.mailer.link(locale, f"tickets/{event.ticket_id}"),
            },
            attachments=tuple(attached),
        )

    async def status_changed(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(TicketStatusChanged)
        requester = event.requester
        if event.to_status is not TicketStatus.RESOLVED or not requester.email:
            return
        locale = requester.locale
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=requester.email,
            to_name=requester.name,
            template="ticket_resolved",
            locale=locale,
            headers=thread_headers(self.mailer.settings, event.ticket_id),
            context={
                "name": requester.name or "",
                "number": event.number,
                "subject": event.subject_line,
                "link": self.mailer.link(locale, f"tickets/{event.ticket_id}"),
            },
        )

    async def _sla(
        self,
        conn: Connection,
        envelope: EventEnvelope,
        event: TicketSlaWarning | TicketSlaBreached,
        template: str,
        *,
        always_oncall: bool,
    ) -> None:
        recipients: list[tuple[str, str | None, str]] = []
        assignee = event.assignee
        if assignee is not None and assignee.email:
            recipients.append((assignee.email, assignee.name, assignee.locale))
        if always_oncall or not recipients:
            recipients.append((self.oncall, None, ONCALL_LOCALE))
        for address, name, locale in recipients:
            await self.mailer.queue(
                conn,
                event_id=envelope.event_id,
                to=address,
                to_name=name,
                template=template,
                locale=locale,
                context={
                    "number": event.number,
                    "subject": event.subject_line,
                    "priority": priority_label(event.priority, locale),
                    "queue": event.queue,
                    "target": TARGET_LABEL[event.target].get(locale, event.target.value),
                    "due_at": local_time(event.due_at),
                    "link": self.mailer.link(locale, f"tickets/{event.ticket_id}"),
                },
            )

    async def sla_warning(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(TicketSlaWarning)
        await self._sla(conn, envelope, event, "ticket_sla_warning", always_oncall=False)

    async def sla_breached(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(TicketSlaBreached)
        await self._sla(conn, envelope, event, "ticket_sla_breached", always_oncall=True)

    async def escalated(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(TicketEscalated)
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=self.oncall,
            template="ticket_escalated",
            locale=ONCALL_LOCALE,
            context={
                "number": event.number,
                "subject": event.subject_line,
                "priority": priority_label(event.priority, ONCALL_LOCALE),
                "submitted_at": local_time(event.submitted_at),
                "link": self.mailer.link(ONCALL_LOCALE, f"tickets/{event.ticket_id}"),
            },
        )


def consumers(mailer: Mailer) -> list[EventConsumer]:
    mails = TicketMails(mailer)
    found = [
        EventConsumer(
            name=MAILS_CONSUMER,
            subject=events_of(tickets.SERVICE),
            handler=mails.handle,
            max_workers=CONSUMER_WORKERS,
            inbox=False,
            handles=frozenset(mails.handlers),
        )
    ]
    for priority, name in PAGE_CONSUMERS.items():
        found.append(
            EventConsumer(
                name=name,
                subject=TicketEvent.any_with(priority),
                handler=mails.page,
                max_workers=CONSUMER_WORKERS,
                inbox=False,
                handles=PAGED,
            )
        )
    return found

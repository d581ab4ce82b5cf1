"""Mails for the ticket events.

* Requester: confirmation (number, priority in their language, promised first
  response), agents' public replies with their files, "resolved".
* Assignee: the requester's replies; SLA warnings and breaches (the on-call
  address when nobody is assigned; breaches always reach on-call too).
* The queue's admins: a ticket nobody of its queue is available for, each in
  their language (once until it is assigned: the tickets service's decision).
* On-call (`HELPDESK_ONCALL_EMAIL`): pages for urgent and critical tickets —
  their own consumers (PAGE_HANDLERS) subscribe to `tickets.events.ticket.*.urgent`
  and `*.critical` only, so nothing else is even delivered to them — and the
  escalation of a critical ticket nobody acknowledged.

Each mail is recorded once per (event, recipient, template) by the outbox and
sent after commit by the sender loop.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from helpdesk.contracts.attachments import TicketAttachmentsAdded, TicketAttachmentsRefused
from helpdesk.contracts.tickets import (
    AUTOMATIC,
    RATING_LINK_LIFETIME,
    Contact,
    RatingLink,
    TicketAwaitingAgent,
    TicketEscalated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketStatus,
    TicketStatusChanged,
    TicketSubmitted,
)
from helpdesk.notifier.domain.texts import (
    ONCALL_LOCALE,
    TARGET_LABEL,
    local_time,
    priority_label,
)
from helpdesk.notifier.handlers.deps import Deps
from helpdesk.notifier.handlers.files import mail_with_files, on_files_added, on_files_refused
from helpdesk.servicekit.events import EventHandlers
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


async def on_submitted(event: TicketSubmitted, deps: Deps) -> None:
    if not event.requester.email:
        log.warning("no address for the requester", ticket_id=str(event.ticket_id))
        return
    await deps.mail_about_ticket(
        event.requester,
        "ticket_submitted",
        event,
        event.subject_line,
        lambda locale: {
            "priority": priority_label(event.priority, locale),
            "first_response_due": local_time(event.first_response_due),
        },
    )


async def on_message_added(event: TicketMessageAdded, deps: Deps) -> None:
    if event.internal:
        return
    if event.by_agent:
        recipient: Contact | None = event.requester
        template = "ticket_reply"
    else:
        recipient = event.assignee  # the requester answered: tell whoever has it
        template = "ticket_requester_reply"
    if recipient is None or recipient.user_id == event.author.user_id:
        return

    # One mail: the reply and the files that came with it (links past the cap).
    context = {
        "name": recipient.name or "",
        "number": event.number,
        "author": event.author.name or "",
        "body": event.body,
    }
    await mail_with_files(deps, recipient, template, context, event.files, event.ticket_id)


async def on_status_changed(event: TicketStatusChanged, deps: Deps) -> None:
    """Resolved: the requester is told, with the way to rate it and when it closes by
    itself; closed by itself (`by` AUTOMATIC): told that too (docs/workspace.md)."""
    if event.to_status is TicketStatus.RESOLVED:
        template = "ticket_resolved"
    elif event.to_status is TicketStatus.CLOSED and event.by == AUTOMATIC:
        template = "ticket_auto_closed"
    else:
        return

    def context(locale: str) -> dict[str, Any]:
        return {
            "auto_close": local_time(event.sla.auto_close_at) if event.sla.auto_close_at else "",
            "rate_link": _rating_link(event, deps, locale),
        }

    await deps.mail_about_ticket(event.requester, template, event, event.subject_line, context)


def _rating_link(event: TicketStatusChanged, deps: Deps, locale: str) -> str:
    """The signed link that rates this resolution without a sign-in, for 30 days
    (`/rate/<token>`, docs/workspace.md); the ticket's page (`#rate`, signed in) for
    an event that does not name its resolution (stored before it did)."""
    if event.resolution is None or deps.rating_links is None:
        return deps.link(locale, f"tickets/{event.ticket_id}#rate")
    link = RatingLink(
        ticket_id=event.ticket_id,
        resolution=event.resolution,
        requester_id=event.requester.user_id,
        expires_at=event.at + RATING_LINK_LIFETIME,
    )
    return deps.link(locale, f"rate/{deps.rating_links.sign(link.to_bytes())}")


async def _sla(
    event: TicketSlaWarning | TicketSlaBreached, deps: Deps, template: str, *, always_oncall: bool
) -> None:
    def context(locale: str) -> dict[str, Any]:
        return {
            **deps.ticket_facts(event, event.subject_line, locale),
            "priority": priority_label(event.priority, locale),
            "queue": deps.queue_label(event.queue, locale),
            "target": TARGET_LABEL[event.target].get(locale, event.target.value),
            "due_at": local_time(event.due_at),
        }

    assignee = event.assignee
    if assignee is not None and assignee.email:
        await deps.mail_contact(assignee, template, context)
    elif not always_oncall:
        always_oncall = True  # nobody to tell but on-call
    if always_oncall:
        await deps.mail_oncall(template, context(ONCALL_LOCALE))


async def on_sla_warning(event: TicketSlaWarning, deps: Deps) -> None:
    await _sla(event, deps, "ticket_sla_warning", always_oncall=False)


async def on_sla_breached(event: TicketSlaBreached, deps: Deps) -> None:
    await _sla(event, deps, "ticket_sla_breached", always_oncall=True)


async def on_escalated(event: TicketEscalated, deps: Deps) -> None:
    await deps.mail_oncall(
        "ticket_escalated",
        {
            **deps.ticket_facts(event, event.subject_line, ONCALL_LOCALE),
            "priority": priority_label(event.priority, ONCALL_LOCALE),
            "submitted_at": local_time(event.submitted_at),
        },
    )


async def on_awaiting_agent(event: TicketAwaitingAgent, deps: Deps) -> None:
    for admin in event.admins:
        await deps.mail_about_ticket(
            admin,
            "ticket_waiting",
            event,
            event.subject_line,
            partial(_waiting, event, deps),
            thread=False,
        )


def _waiting(event: TicketAwaitingAgent, deps: Deps, locale: str) -> dict[str, Any]:
    return {
        "queue": deps.queue_label(event.queue, locale),
        "priority": priority_label(event.priority, locale),
    }


TICKET_HANDLERS: EventHandlers[Deps] = {
    TicketSubmitted: on_submitted,
    TicketMessageAdded: on_message_added,
    TicketStatusChanged: on_status_changed,
    TicketSlaWarning: on_sla_warning,
    TicketSlaBreached: on_sla_breached,
    TicketEscalated: on_escalated,
    TicketAwaitingAgent: on_awaiting_agent,
    TicketAttachmentsAdded: on_files_added,
    TicketAttachmentsRefused: on_files_refused,
}


# --- the on-call pages: a ticket submitted at, or raised to, the consumer's priority


async def _page(
    event: TicketSubmitted | TicketPriorityChanged, deps: Deps, raised_from: str | None
) -> None:
    requester = event.requester
    await deps.mail_oncall(
        "ticket_page",
        {
            **deps.ticket_facts(event, event.subject_line, ONCALL_LOCALE),
            "priority": priority_label(event.priority, ONCALL_LOCALE),
            "priority_key": event.priority.value,
            "queue": deps.queue_label(event.queue, ONCALL_LOCALE),
            "requester": requester.name or requester.email or str(requester.user_id),
            "first_response_due": local_time(event.first_response_due),
            "raised_from": raised_from,
        },
    )


async def on_submitted_page(event: TicketSubmitted, deps: Deps) -> None:
    """Page the on-call address for an urgent or critical ticket."""
    if event.page:
        await _page(event, deps, raised_from=None)


async def on_priority_raised_page(event: TicketPriorityChanged, deps: Deps) -> None:
    if event.page:
        await _page(event, deps, raised_from=priority_label(event.from_priority, ONCALL_LOCALE))


PAGE_HANDLERS: EventHandlers[Deps] = {
    TicketSubmitted: on_submitted_page,
    TicketPriorityChanged: on_priority_raised_page,
}

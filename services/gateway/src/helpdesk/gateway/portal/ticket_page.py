"""What the ticket pages share: the ticket's page with its context, and the way a
posted form becomes a command (`routes_tickets.py`, `routes_ticket_actions.py`).

Route modules do not import each other; this module holds what both need.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from helpdesk.contracts.agents import GetQueueMembers, QueueMember
from helpdesk.contracts.messages import Request as Command
from helpdesk.contracts.tickets import GetTicket, ListTickets, TicketStatus, TicketSummary
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal import attachments as files
from helpdesk.gateway.portal.forms import (
    Form,
    add_field_errors,
    add_validation_errors,
    problem_message,
    read_form,
)
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import page_url, redirect, render
from helpdesk.gateway.portal.session import PortalUser, signed_in_user
from helpdesk.gateway.problems import ProblemError

# `?notice=` names (never text from the URL) and the sentence each one shows.
NOTICES = {
    "submitted": "ticket_submitted",
    "reply_sent": "reply_sent",
    "note_added": "note_added",
    "saved": "saved",
    "attachment_removed": "attachment_removed",
    "reopened": "reopened",
    "rated": "rated_thanks",
}

# The requester's context beside a ticket: their open tickets and the latest others.
REQUESTER_TICKETS = 20
OPEN_STATUSES = (TicketStatus.SUBMITTED, TicketStatus.OPEN, TicketStatus.PENDING)


def enum_or_none(enum: Any, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


async def ticket_page(
    request: Request,
    lang: Lang,
    user: PortalUser,
    ticket_id: UUID,
    *,
    notice: str | None = None,
    form: Form | None = None,
    form_error: str | None = None,
    status_code: int = 200,
    confirm_close: bool = False,
) -> Response:
    """The ticket with its timeline, files and forms; for agents the composer with
    the queue's members and the requester's context. `form` brings back what was
    typed and chosen; `confirm_close` asks before a composer's close."""
    ticket = await send(request, GetTicket(actor=user.actor, ticket_id=ticket_id))
    attached = await files.listing(request, user, ticket_id)
    colleagues = await _colleagues(request, user, ticket.queue)
    others = await _requester_tickets(request, user, ticket.requester.user_id, ticket_id)
    return await render(
        request,
        "ticket.html",
        lang,
        {
            "ticket": ticket,
            "notice": t(NOTICES[notice], lang) if notice in NOTICES else None,
            "values": form.shown() if form else {},
            "errors": form.errors if form else {},
            "form_error": form_error,
            "statuses": list(TicketStatus),
            "is_closed": ticket.status == TicketStatus.CLOSED,
            "confirm_close": confirm_close,
            "now": datetime.now(UTC),
            "assigned_to_me": ticket.assignee is not None
            and ticket.assignee.user_id == user.user_id,
            "colleagues": [
                c for c in colleagues if not ticket.assignee or c.user_id != ticket.assignee.user_id
            ],
            "requester_open": [t for t in others if t.status in OPEN_STATUSES],
            "requester_recent": [t for t in others if t.status not in OPEN_STATUSES][:5],
            **files.page_context(request, lang, attached),
        },
        status_code=status_code,
    )


async def _colleagues(request: Request, user: PortalUser, queue: str) -> list[QueueMember]:
    """Whom an agent may assign the ticket to: its queue's members (none listed for
    a customer, or for a queue nobody was put in: then "assign to me" only)."""
    if not user.is_agent:
        return []
    info = await send(request, GetQueueMembers(actor=user.actor, queue=queue))
    return info.members


async def _requester_tickets(
    request: Request, user: PortalUser, requester_id: UUID, ticket_id: UUID
) -> list[TicketSummary]:
    """The requester's other tickets (newest first, in every queue), for agents."""
    if not user.is_agent:
        return []
    found = await send(
        request,
        ListTickets(actor=user.actor, requester_id=requester_id, limit=REQUESTER_TICKETS),
    )
    return [t for t in found.items if t.ticket_id != ticket_id]


async def act(
    request: Request,
    lang: Lang,
    user: PortalUser,
    ticket_id: UUID,
    form: Form,
    command: Command[Any],
    notice: str,
) -> Response:
    """Send one ticket command; on success back to the ticket, else the page with the error."""
    try:
        await send(request, command)
    except ProblemError as problem:
        if problem.status in (404, 401, 503) and not problem.errors:
            raise
        add_field_errors(form, problem.errors, lang)
        message = problem_message(problem, lang)
        return await page_again(request, lang, user, ticket_id, form, message, problem.status)
    return await redirect(request, page_url(lang, f"tickets/{ticket_id}?notice={notice}"), lang)


async def form_command(
    request: Request,
    lang: Lang,
    ticket_id: UUID,
    build: Callable[[PortalUser, Form], Command[Any]],
    notice: str = "saved",
) -> Response:
    """Build a command from the posted form and send it: a form the command refuses
    comes back with what was typed and the fields' errors."""
    user = await signed_in_user(request)
    form = await read_form(request)
    try:
        command = build(user, form)
    except ValidationError as exc:
        return await refused_form(request, lang, user, ticket_id, form, exc)
    return await act(request, lang, user, ticket_id, form, command, notice)


async def refused_form(
    request: Request,
    lang: Lang,
    user: PortalUser,
    ticket_id: UUID,
    form: Form,
    exc: ValidationError,
) -> Response:
    """The ticket again with what was typed and the fields' errors, in the reader's language."""
    add_validation_errors(form, exc, lang)
    return await page_again(request, lang, user, ticket_id, form, t("form_has_errors", lang), 422)


async def page_again(
    request: Request,
    lang: Lang,
    user: PortalUser,
    ticket_id: UUID,
    form: Form,
    error: str,
    status_code: int,
) -> Response:
    """The ticket's page once more with what was posted and why it was not taken."""
    return await ticket_page(
        request, lang, user, ticket_id, form=form, form_error=error, status_code=status_code
    )

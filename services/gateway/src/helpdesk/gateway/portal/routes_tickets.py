"""Ticket pages: my requests / the agents' queue, submit, a ticket's timeline and actions.

Each page calls the tickets service's commands and queries over NATS, as the
REST API does, with the caller taken from the session cookie's access token.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from helpdesk.contracts.agents import GetQueueMembers, QueueMember
from helpdesk.contracts.messages import Request as Command
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    AddMessage,
    AssignTicket,
    Category,
    ChangePriority,
    ChangeStatus,
    GetTicket,
    ListTickets,
    RateTicket,
    ReopenTicket,
    SearchTickets,
    SubmitTicket,
    TicketStatus,
    TicketSummary,
    UnassignTicket,
)
from helpdesk.gateway import uploads
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal import attachments as files
from helpdesk.gateway.portal.forms import (
    Form,
    add_field_errors,
    add_validation_errors,
    local_datetime,
    problem_message,
    read_form,
)
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import LOCAL_ZONE, page_url, redirect, render
from helpdesk.gateway.portal.routing import PageLang
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

# The agents' queue tabs: their queues (the default), everything they may see,
# the unassigned tickets of their queues, and their own.
VIEWS = ("my_queues", "all", "unassigned", "mine")

# The requester's context beside a ticket: their open tickets and the latest others.
REQUESTER_TICKETS = 20
OPEN_STATUSES = (TicketStatus.SUBMITTED, TicketStatus.OPEN, TicketStatus.PENDING)

router = APIRouter()


def _enum_or_none(enum: Any, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


# ------------------------------------------------------------------ lists


@router.get("/{lang}/tickets")
async def tickets(
    request: Request,
    lang: PageLang,
    view: str = "my_queues",
    priority: str | None = None,
    status: str | None = None,
    queue: str | None = None,
    cursor: str | None = None,
    q: str | None = None,
    as_of: str | None = None,
) -> Response:
    user = await signed_in_user(request)
    filters = {
        "view": view if view in VIEWS else "my_queues",
        "priority": _enum_or_none(Priority, priority),
        "status": _enum_or_none(TicketStatus, status),
        "queue": (queue or "")[:64] or None,
        "q": (q or "").strip()[:200] or None,
        "as_of": local_datetime(as_of) if user.is_agent else None,
    }
    common: dict[str, Any] = {
        "actor": user.actor,
        "priority": filters["priority"],
        "status": filters["status"],
        "queue": filters["queue"],
        "assignee_id": user.user_id if user.is_agent and filters["view"] == "mine" else None,
        "unassigned": user.is_agent and filters["view"] == "unassigned",
        "cursor": (cursor or "")[:64] or None,
    }
    # "All": every ticket an agent may see; the other views start from their queues.
    everything = user.is_agent and filters["view"] == "all" and not filters["queue"]
    form_error = None
    try:
        query: Command[Any] = (
            SearchTickets(q=filters["q"], **common)
            if filters["q"]
            else ListTickets(as_of=filters["as_of"], all_queues=everything, **common)
        )
    except ValidationError:
        query, form_error = ListTickets(**common), t("form_has_errors", lang)
        filters["q"] = None
    result = await send(request, query)
    next_url = None
    if result.next_cursor:
        kept = {k: _query_value(v) for k, v in filters.items() if v}
        next_url = page_url(lang, "tickets?" + urlencode({**kept, "cursor": result.next_cursor}))
    template = "queue.html" if user.is_agent else "tickets.html"
    return await render(
        request,
        template,
        lang,
        {
            "tickets": result.items,
            "filters": filters,
            "searching": isinstance(query, SearchTickets),
            "as_of_value": _query_value(filters["as_of"]) if filters["as_of"] else "",
            "statuses": list(TicketStatus),
            "next_url": next_url,
            "form_error": form_error,
        },
    )


def _query_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")
    return str(value.value if hasattr(value, "value") else value)


# ------------------------------------------------------------------ submit


@router.get("/{lang}/tickets/new")
async def new_ticket_page(request: Request, lang: PageLang) -> Response:
    await signed_in_user(request)
    return await render(
        request,
        "new_ticket.html",
        lang,
        {"categories": list(Category), "values": {}, "attach_hint": files.limits(request, lang)},
    )


@router.post("/{lang}/tickets/new")
async def new_ticket(request: Request, lang: PageLang) -> Response:
    user = await signed_in_user(request)
    form = await read_form(request)
    form.require(lang, "subject", "description", "priority")
    prepared, refused = await files.prepared_files(request, form, lang)
    command_: SubmitTicket | None = None
    if not form.errors:
        try:
            command_ = SubmitTicket(
                actor=user.actor,
                subject=form.get("subject"),
                description=form.get("description"),
                priority=form.get("priority"),  # type: ignore[arg-type]
                category=form.get("category") or None,  # type: ignore[arg-type]
                idempotency_key=form.get("idempotency_key") or None,
                requester=(form.get("requester") or None) if user.is_agent else None,
            )
        except ValidationError as exc:
            add_validation_errors(form, exc, lang)
    status, message = refused or 422, t("form_has_errors", lang)
    if command_ is not None and not form.errors:
        try:
            submitted = await send(request, command_)
        except ProblemError as problem:
            add_field_errors(form, problem.errors, lang)
            status, message = problem.status, problem_message(problem, lang)
        else:
            await files.attach(request, user, submitted.ticket_id, prepared)
            url = page_url(lang, f"tickets/{submitted.ticket_id}?notice=submitted")
            return await redirect(request, url, lang)
    return await render(
        request,
        "new_ticket.html",
        lang,
        {
            "categories": list(Category),
            "values": form.shown(),
            "errors": form.errors,
            "form_error": message,
            "attach_hint": files.limits(request, lang),
        },
        status_code=status,
    )


# ------------------------------------------------------------------ one ticket


async def _ticket_page(
    request: Request,
    lang: Lang,
    user: PortalUser,
    ticket_id: UUID,
    *,
    notice: str | None = None,
    form: Form | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
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


@router.get("/{lang}/tickets/{ticket_id}")
async def ticket_page(
    request: Request, lang: PageLang, ticket_id: UUID, notice: str | None = None
) -> Response:
    user = await signed_in_user(request)
    return await _ticket_page(request, lang, user, ticket_id, notice=notice)


async def _act(
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
        return await _ticket_page(
            request,
            lang,
            user,
            ticket_id,
            form=form,
            form_error=problem_message(problem, lang),
            status_code=problem.status,
        )
    return await redirect(request, page_url(lang, f"tickets/{ticket_id}?notice={notice}"), lang)


@router.post("/{lang}/tickets/{ticket_id}/messages")
async def reply(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    user = await signed_in_user(request)
    form = await read_form(request)
    internal = user.is_agent and form.get("internal") == "1"
    prepared, refused = await files.prepared_files(request, form, lang)
    if refused:
        return await _ticket_page(
            request,
            lang,
            user,
            ticket_id,
            form=form,
            form_error=form.errors["file"],
            status_code=refused,
        )
    try:
        payload = AddMessage(
            actor=user.actor,
            ticket_id=ticket_id,
            body=form.get("body"),
            internal=internal,
            idempotency_key=form.get("idempotency_key") or None,
        )
    except ValidationError as exc:
        return await _refused_form(request, lang, user, ticket_id, form, exc)
    notice = "note_added" if internal else "reply_sent"
    if prepared:
        # Stored first, then recorded with the message in one command: the reply
        # and its files are on the ticket together or not at all, and the
        # requester gets them in the reply's one mail.
        stored = await uploads.store_all(request, prepared)
        payload = AddMessage(**{**payload.model_dump(), "files": stored})
    return await _act(request, lang, user, ticket_id, form, payload, notice)


@router.post("/{lang}/tickets/{ticket_id}/status")
async def change_status(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    """Closing is final, so it is asked once more (`confirm=1` on the second post)."""
    user = await signed_in_user(request)
    form = await read_form(request)
    status = _enum_or_none(TicketStatus, form.get("status"))
    if status is None:
        raise ProblemError(422, "validation_error", "Unknown status.")
    if status is TicketStatus.CLOSED and form.get("confirm") != "1":
        ticket = await send(request, GetTicket(actor=user.actor, ticket_id=ticket_id))
        return await render(request, "confirm_close.html", lang, {"ticket": ticket})
    payload = ChangeStatus(actor=user.actor, ticket_id=ticket_id, status=status)
    return await _act(request, lang, user, ticket_id, form, payload, "saved")


@router.post("/{lang}/tickets/{ticket_id}/reopen")
async def reopen(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    return await _form_command(
        request,
        lang,
        ticket_id,
        lambda user, form: ReopenTicket(
            actor=user.actor, ticket_id=ticket_id, reason=form.get("reopen_reason") or None
        ),
        notice="reopened",
    )


@router.post("/{lang}/tickets/{ticket_id}/satisfaction")
async def rate(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    """The rating form (1-5 and an optional comment); no choice is a field error."""
    return await _form_command(
        request,
        lang,
        ticket_id,
        lambda user, form: RateTicket(
            actor=user.actor,
            ticket_id=ticket_id,
            rating=form.get("rating") or 0,  # type: ignore[arg-type]
            comment=form.get("comment") or None,
        ),
        notice="rated",
    )


@router.post("/{lang}/tickets/{ticket_id}/priority")
async def change_priority(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    user = await signed_in_user(request)
    form = await read_form(request)
    priority = _enum_or_none(Priority, form.get("priority"))
    if priority is None:
        raise ProblemError(422, "validation_error", "Unknown priority.")
    payload = ChangePriority(actor=user.actor, ticket_id=ticket_id, priority=priority)
    return await _act(request, lang, user, ticket_id, form, payload, "saved")


@router.post("/{lang}/tickets/{ticket_id}/assign")
async def assign(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    """To me, or to the colleague picked (`assignee_id`), with an optional reason."""
    return await _form_command(
        request,
        lang,
        ticket_id,
        lambda user, form: AssignTicket(
            actor=user.actor,
            ticket_id=ticket_id,
            assignee_id=form.get("assignee_id") or None,  # type: ignore[arg-type]
            reassign=form.get("reassign") == "1",
            reason=form.get("reason") or None,
        ),
    )


@router.post("/{lang}/tickets/{ticket_id}/unassign")
async def unassign(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    return await _form_command(
        request,
        lang,
        ticket_id,
        lambda user, form: UnassignTicket(
            actor=user.actor, ticket_id=ticket_id, reason=form.get("reason") or None
        ),
    )


async def _form_command(
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
        return await _refused_form(request, lang, user, ticket_id, form, exc)
    return await _act(request, lang, user, ticket_id, form, command, notice)


async def _refused_form(
    request: Request,
    lang: Lang,
    user: PortalUser,
    ticket_id: UUID,
    form: Form,
    exc: ValidationError,
) -> Response:
    """The ticket again with what was typed and the fields' errors, in the reader's language."""
    add_validation_errors(form, exc, lang)
    return await _ticket_page(
        request,
        lang,
        user,
        ticket_id,
        form=form,
        form_error=t("form_has_errors", lang),
        status_code=422,
    )

"""Ticket pages: my requests / the agents' queue, submit, a ticket's timeline and actions.

Each page calls the tickets service's commands and queries over NATS, as the
REST API does, with the caller taken from the session cookie's access token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from helpdesk.contracts.agents import DeleteFilter, FilterSpec, ListFilters, SaveFilter
from helpdesk.contracts.messages import Request as Command
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    AddMessage,
    Category,
    GetTicket,
    ListTickets,
    SearchTickets,
    SubmitTicket,
    TicketStatus,
    UpdateTicket,
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
from helpdesk.gateway.portal.i18n import t
from helpdesk.gateway.portal.rendering import LOCAL_ZONE, page_url, redirect, render
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import signed_in_user
from helpdesk.gateway.portal.ticket_page import (
    act,
    enum_or_none,
    page_again,
    refused_form,
    ticket_page,
)
from helpdesk.gateway.problems import ProblemError

# The agents' queue tabs: their queues (the default), everything they may see,
# the unassigned tickets of their queues, and their own.
VIEWS = ("my_queues", "all", "unassigned", "mine")

# The parts of a ticket's page the live refresh asks for.
PARTS = {"facts": "ticket_facts.html", "timeline": "ticket_timeline.html"}

router = APIRouter()


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
    partial: str | None = None,
    notice: str | None = None,
) -> Response:
    """The list; `partial=rows` answers its table alone (the live refresh)."""
    user = await signed_in_user(request)
    filters = {
        "view": view if view in VIEWS else "my_queues",
        "priority": enum_or_none(Priority, priority),
        "status": enum_or_none(TicketStatus, status),
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
    form_error = t("filter_refused", lang) if notice == "filter_refused" else None
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
    if partial == "rows" and user.is_agent:
        template = "queue_rows.html"
    rows = request.url.include_query_params(partial="rows").remove_query_params("cursor")
    rows_url = f"{rows.path}?{rows.query}"
    saved = []
    if template == "queue.html":
        saved = [
            (f.name, "tickets?" + urlencode(f.spec.model_dump(mode="json", exclude_none=True)))
            for f in (await send(request, ListFilters(actor=user.actor))).items
        ]
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
            "rows_url": rows_url,
            "saved_filters": saved,
        },
    )


@router.post("/{lang}/tickets/filters")
async def save_filter(request: Request, lang: PageLang) -> Response:
    """Keep the view shown as a named filter (the form carries the page's filters);
    `delete=<name>` forgets one. Back to the queue as it was."""
    user = await signed_in_user(request)
    form = await read_form(request)
    fields = {k: form.get(k) or None for k in ("view", "priority", "status", "queue", "q")}
    back = page_url(lang, "tickets?" + urlencode({k: v for k, v in fields.items() if v}))
    try:
        if form.get("delete"):
            await send(request, DeleteFilter(actor=user.actor, name=form.get("delete")))
        else:
            spec = FilterSpec.model_validate({k: v for k, v in fields.items() if v})
            await send(request, SaveFilter(actor=user.actor, name=form.get("name"), spec=spec))
    except (ValidationError, ProblemError):
        return await redirect(request, back + "&notice=filter_refused", lang)
    return await redirect(request, back, lang)


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


@router.get("/{lang}/tickets/{ticket_id}")
async def show_ticket(
    request: Request,
    lang: PageLang,
    ticket_id: UUID,
    notice: str | None = None,
    partial: str | None = None,
) -> Response:
    """The ticket's page; `partial=facts` or `partial=timeline` answers that part
    alone (the live refresh: nothing else on the page is touched)."""
    user = await signed_in_user(request)
    if partial in PARTS:
        ticket = await send(request, GetTicket(actor=user.actor, ticket_id=ticket_id))
        return await render(
            request, PARTS[partial], lang, {"ticket": ticket, "statuses": list(TicketStatus)}
        )
    return await ticket_page(request, lang, user, ticket_id, notice=notice)


@router.post("/{lang}/tickets/{ticket_id}/messages")
async def reply(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    """The reply form; for agents the composer: the message with the status,
    priority and assignee chosen beside it (or by "Reply and set …"), sent as one
    command. Whatever is refused comes back with what was typed and chosen."""
    user = await signed_in_user(request)
    form = await read_form(request)
    internal = user.is_agent and form.get("internal") == "1"
    prepared, refused = await files.prepared_files(request, form, lang)
    if refused:
        # The reason is under the file field; the banner only says that the form has errors
        # (the same sentence twice, banner and field, was one of the complaints).
        message = t("form_has_errors", lang)
        return await page_again(request, lang, user, ticket_id, form, message, refused)
    choices = _composer_choices(form, me=user.user_id) if user.is_agent else {}
    if choices.get("status") is TicketStatus.CLOSED and form.get("confirm") != "1":
        # Closing is final: the same page again, everything kept, asking once more.
        return await ticket_page(request, lang, user, ticket_id, form=form, confirm_close=True)
    try:
        payload: AddMessage | UpdateTicket
        common = {
            "actor": user.actor,
            "ticket_id": ticket_id,
            "internal": internal,
            "idempotency_key": form.get("idempotency_key") or None,
        }
        if choices:
            body = form.get("body") or None
            payload = UpdateTicket(**common, body=body, **choices)
        else:
            payload = AddMessage(**common, body=form.get("body"))
    except ValidationError as exc:
        return await refused_form(request, lang, user, ticket_id, form, exc)
    notice = "saved" if choices else "note_added" if internal else "reply_sent"
    if prepared:
        # Stored first, then recorded with the message in one command: the reply
        # and its files are on the ticket together or not at all, and the
        # requester gets them in the reply's one mail.
        stored = await uploads.store_all(request, prepared)
        payload = payload.model_copy(update={"files": stored})
    return await act(request, lang, user, ticket_id, form, payload, notice)


def _composer_choices(form: Form, *, me: UUID) -> dict[str, Any]:
    """What the agent chose beside the message: only what changes. A "Reply and set"
    button (`then_status`) wins over the status list; the assignee list holds
    "me", a member's id or "none" (unassign)."""
    choices: dict[str, Any] = {}
    status = enum_or_none(TicketStatus, form.get("then_status") or form.get("status"))
    if status is not None:
        choices["status"] = status
    priority = enum_or_none(Priority, form.get("priority"))
    if priority is not None:
        choices["priority"] = priority
    assignee = form.get("assignee")
    if assignee == "none":
        choices["unassign"] = True
    elif assignee:
        choices["assignee_id"] = me if assignee == "me" else assignee
    if choices.keys() & {"unassign", "assignee_id"} and form.get("assign_reason"):
        choices["reason"] = form.get("assign_reason")
    return choices

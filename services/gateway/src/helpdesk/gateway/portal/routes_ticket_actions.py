"""A ticket's actions besides the reply and composer: close (confirmed), reopen,
rate, and an agent's "assign to me" (docs/portal.md, docs/workspace.md)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.contracts.tickets import (
    AssignTicket,
    ChangeStatus,
    GetTicket,
    RateTicket,
    ReopenTicket,
    TicketStatus,
)
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.forms import read_form
from helpdesk.gateway.portal.rendering import render
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import signed_in_user
from helpdesk.gateway.portal.ticket_page import act, enum_or_none, form_command
from helpdesk.gateway.problems import ProblemError

router = APIRouter()


@router.post("/{lang}/tickets/{ticket_id}/status")
async def change_status(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    """Closing is final, so it is asked once more (`confirm=1` on the second post)."""
    user = await signed_in_user(request)
    form = await read_form(request)
    status = enum_or_none(TicketStatus, form.get("status"))
    if status is None:
        raise ProblemError(422, "validation_error", "Unknown status.")
    if status is TicketStatus.CLOSED and form.get("confirm") != "1":
        ticket = await send(request, GetTicket(actor=user.actor, ticket_id=ticket_id))
        return await render(request, "confirm_close.html", lang, {"ticket": ticket})
    payload = ChangeStatus(actor=user.actor, ticket_id=ticket_id, status=status)
    return await act(request, lang, user, ticket_id, form, payload, "saved")


@router.post("/{lang}/tickets/{ticket_id}/reopen")
async def reopen(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    return await form_command(
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
    return await form_command(
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


@router.post("/{lang}/tickets/{ticket_id}/assign")
async def assign(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    """ "Assign to me" / "Take over" (`reassign=1`); colleagues are assigned from the
    composer (routes_tickets.reply)."""
    return await form_command(
        request,
        lang,
        ticket_id,
        lambda user, form: AssignTicket(
            actor=user.actor, ticket_id=ticket_id, reassign=form.get("reassign") == "1"
        ),
    )

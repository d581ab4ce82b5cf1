"""A ticket's actions besides the reply and composer: close (confirmed), reopen,
rate (signed in, or with the resolution mail's signed link), and an agent's
"assign to me" (docs/portal.md, docs/workspace.md)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from helpdesk.contracts.tickets import (
    AssignTicket,
    ChangeStatus,
    GetRatingLink,
    GetTicket,
    RateByLink,
    RateTicket,
    RatingLinkInfo,
    RatingToken,
    ReopenTicket,
    TicketStatus,
)
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.forms import Form, add_validation_errors, read_form
from helpdesk.gateway.portal.i18n import Lang, t
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


# --- the resolution mail's signed rating link: no sign-in (docs/workspace.md) -------------
# A GET shows the form and changes nothing (mail scanners follow links); the POST rates.
# The tickets service verifies the token; each of its refusals is a page of its own.

_RATING_TOKEN: TypeAdapter[str] = TypeAdapter(RatingToken)

# A refusal's code -> (its sentence, the page's status): a rated resolution is a
# normal end, not an error.
_LINK_REFUSALS = {
    "conflict": ("rating_link_rated", 200),
    "invalid_transition": ("rating_link_outdated", 409),
}
_LINK_INVALID = ("rating_link_invalid", 400)  # forged, damaged, expired, unknown ticket


async def _link_message(request: Request, lang: Lang, code: str) -> Response:
    text_key, status = _LINK_REFUSALS.get(code, _LINK_INVALID)
    context = {
        "title": t("rate_heading", lang),
        "text": t(text_key, lang),
        "login": text_key == "rating_link_invalid",  # rate from the page once signed in
        "resend": False,
    }
    return await render(request, "message.html", lang, context, status_code=status)


async def _rating_form(
    request: Request,
    lang: Lang,
    token: str,
    link: RatingLinkInfo,
    form: Form,
    status: int = 200,
) -> Response:
    context = {
        "token": token,
        "link": link,
        "values": form.shown(),
        "errors": form.errors,
        "form_error": t("form_has_errors", lang) if form.errors else None,
    }
    return await render(request, "rate_link.html", lang, context, status_code=status)


async def _rating_link(request: Request, token: str) -> RatingLinkInfo:
    """What the link rates (raises the tickets service's refusal as a ProblemError)."""
    try:
        _RATING_TOKEN.validate_python(token)
    except ValidationError:  # hostile input stops here: too long, not base64url
        raise ProblemError(400, "invalid_token", "not a rating link") from None
    return await send(request, GetRatingLink(token=token))


@router.get("/{lang}/rate/{token}")
async def rating_link_page(request: Request, lang: PageLang, token: str) -> Response:
    try:
        link = await _rating_link(request, token)
    except ProblemError as problem:
        if problem.status >= 500:
            raise
        return await _link_message(request, lang, problem.code)
    return await _rating_form(request, lang, token, link, Form(values={}))


@router.post("/{lang}/rate/{token}")
async def rate_by_link(request: Request, lang: PageLang, token: str) -> Response:
    """The rating (1-5, optional comment) as the link's requester; no choice is a field
    error, with the form again."""
    form = await read_form(request)
    try:
        link = await _rating_link(request, token)
        try:
            command = RateByLink(
                token=token,
                rating=form.get("rating") or 0,  # type: ignore[arg-type]
                comment=form.get("comment") or None,
            )
        except ValidationError as exc:
            add_validation_errors(form, exc, lang)
            return await _rating_form(request, lang, token, link, form, 422)
        await send(request, command)
    except ProblemError as problem:
        if problem.status >= 500:
            raise
        return await _link_message(request, lang, problem.code)
    thanks = {"title": t("rate_heading", lang), "text": t("rated_thanks", lang)}
    return await render(request, "message.html", lang, {**thanks, "login": False, "resend": False})

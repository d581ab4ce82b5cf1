"""Erasure in the portal (issue 30; docs/privacy.md, "Erasure from the portal, the
API and the CLI"): a person asks on "Τα δεδομένα μου" / "My data" (the section
`my_data_deletion.html`), admins see the pending requests on "Αιτήματα
διαγραφής" / "Erasure requests" and confirm each with a reason, or erase any user
from the users page through a confirm page. Plain forms: no JavaScript needed.
Identity decides again from the proven actor, as for the REST API.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from helpdesk.contracts.people import ListUsers, UserSummary
from helpdesk.contracts.privacy import (
    EraseUser,
    ErasureBody,
    ErasureRequestBody,
    ListErasureRequests,
    RequestErasure,
)
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.errors import error_page
from helpdesk.gateway.portal.forms import Form, add_validation_errors, problem_message, read_form
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import page_url, redirect, render
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import PortalUser, signed_in_user
from helpdesk.gateway.problems import ProblemError

router = APIRouter()

# Where an admin returns after erasing: the page the confirmation was on.
BACK_PAGES = ("users", "erasure-requests")


async def _admin(request: Request) -> PortalUser | None:
    user = await signed_in_user(request)
    return user if user.is_admin else None


def _back(form: Form) -> str:
    return form.get("back") if form.get("back") in BACK_PAGES else "users"


def _refusal(problem: ProblemError, lang: Lang) -> str:
    """A refused form's sentence; pages a form cannot fix (login, 403, 404) are raised."""
    if problem.status in (401, 403, 404):
        raise problem
    return (
        t("erase_self_refused", lang)
        if problem.code == "conflict"
        else problem_message(problem, lang)
    )


# ------------------------------------------------------------------ the person


@router.post("/{lang}/my-data/erasure")
async def ask_for_erasure(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    user = await signed_in_user(request)
    page: dict[str, Any] = {"values": form.shown(), "errors": form.errors}
    try:
        body = ErasureRequestBody(note=form.get("note").strip() or None)
        await send(request, RequestErasure(actor=user.actor, **body.model_dump()))
    except ValidationError as exc:
        add_validation_errors(form, exc, lang)
        return await render(request, "my_data.html", lang, page, status_code=422)
    except ProblemError as problem:
        page["form_error"] = _refusal(problem, lang)
        return await render(request, "my_data.html", lang, page, status_code=problem.status)
    return await redirect(request, page_url(lang, "my-data/erasure"), lang)


@router.get("/{lang}/my-data/erasure")
async def erasure_asked(request: Request, lang: PageLang) -> Response:
    """Where the request's form leads (Post/Redirect/Get): "My data", saying it was sent."""
    await signed_in_user(request)
    context = {"erasure_sent": True, "notice": t("erasure_request_sent", lang)}
    return await render(request, "my_data.html", lang, context)


# ------------------------------------------------------------------ admins


@router.get("/{lang}/erasure-requests")
async def erasure_requests_page(request: Request, lang: PageLang) -> Response:
    admin = await _admin(request)
    if admin is None:
        return await error_page(request, 403, text_key="admins_only_text")
    found = await send(request, ListErasureRequests(actor=admin.actor))
    notice = t("user_erased", lang) if request.query_params.get("notice") == "erased" else None
    context = {"requests": found.items, "notice": notice}
    return await render(request, "erasure_requests.html", lang, context)


async def _person(
    request: Request, admin: PortalUser, user_id: UUID, username: str | None
) -> UserSummary | None:
    """The user to erase, as identity knows them: looked up by username, matched by id."""
    if not username:
        return None
    found = await send(request, ListUsers(actor=admin.actor, q=username[:100], limit=200))
    return next((u for u in found.items if u.user_id == user_id), None)


async def _confirm_page(
    request: Request,
    lang: Lang,
    admin: PortalUser,
    user_id: UUID,
    form: Form,
    *,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    person = await _person(request, admin, user_id, form.get("username"))
    if person is None or person.status == "erased":
        return await error_page(request, 404)
    context = {
        "person": person,
        "back": _back(form),
        "values": form.shown(),
        "errors": form.errors,
        "form_error": form_error,
    }
    return await render(request, "erasure_confirm.html", lang, context, status_code=status_code)


@router.get("/{lang}/users/{user_id}/erase")
async def erase_page(
    request: Request, lang: PageLang, user_id: UUID, username: str | None = None
) -> Response:
    """The confirm page for erasing any user (linked from the users page)."""
    admin = await _admin(request)
    if admin is None:
        return await error_page(request, 403, text_key="admins_only_text")
    return await _confirm_page(request, lang, admin, user_id, Form({"username": username or ""}))


@router.post("/{lang}/users/{user_id}/erase")
async def erase(request: Request, lang: PageLang, user_id: UUID) -> Response:
    form = await read_form(request)
    admin = await _admin(request)
    if admin is None:
        return await error_page(request, 403, text_key="admins_only_text")
    try:
        body = ErasureBody(reason=form.get("reason").strip())
        await send(request, EraseUser(actor=admin.actor, user_id=user_id, **body.model_dump()))
    except ValidationError as exc:
        add_validation_errors(form, exc, lang)
        return await _confirm_page(request, lang, admin, user_id, form, status_code=422)
    except ProblemError as problem:
        message = _refusal(problem, lang)
        return await _confirm_page(
            request, lang, admin, user_id, form, form_error=message, status_code=problem.status
        )
    return await redirect(request, page_url(lang, f"{_back(form)}?notice=erased"), lang)

"""User administration in the portal, for admins (docs/assignment.md,
"Admins manage people"): find users, set their roles, deactivate and reactivate
them. Everyone else gets the 403 page; identity decides again from the proven
actor, as for the REST API.
"""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.contracts.actors import Role
from helpdesk.contracts.people import DeactivateUser, ListUsers, ReactivateUser, SetRoles
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.errors import error_page
from helpdesk.gateway.portal.forms import problem_message, read_form
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import page_url, redirect, render
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import PortalUser, signed_in_user
from helpdesk.gateway.problems import ProblemError

router = APIRouter()

STATUSES = ("active", "deactivated", "pending_activation", "erased")

NOTICES = {
    "roles_saved": "roles_saved",
    "deactivated": "user_deactivated",
    "reactivated": "user_reactivated",
    "erased": "user_erased",  # from routes_erasure's confirm page
}


async def _admin(request: Request) -> PortalUser | None:
    user = await signed_in_user(request)
    return user if user.is_admin else None


def _query(value: str | None) -> str | None:
    return (value or "").strip()[:100] or None


async def _users_page(
    request: Request,
    lang: Lang,
    user: PortalUser,
    q: str | None,
    *,
    notice: str | None = None,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response:
    found = await send(request, ListUsers(actor=user.actor, q=q, limit=100))
    return await render(
        request,
        "users.html",
        lang,
        {
            "users": found.items,
            "q": q or "",
            "roles": list(Role),
            "role_labels": {r.value: t(f"role_{r.value}", lang) for r in Role},
            "status_labels": {s: t(f"account_{s}", lang) for s in STATUSES},
            "me": user.user_id,
            "notice": t(NOTICES[notice], lang) if notice in NOTICES else None,
            "form_error": form_error,
        },
        status_code=status_code,
    )


@router.get("/{lang}/users")
async def users_page(
    request: Request, lang: PageLang, q: str | None = None, notice: str | None = None
) -> Response:
    admin = await _admin(request)
    if admin is None:
        return await error_page(request, 403, text_key="admins_only_text")
    return await _users_page(request, lang, admin, _query(q), notice=notice)


async def _change(request: Request, lang: Lang, user_id: UUID, action: str) -> Response:
    form = await read_form(request)
    admin = await _admin(request)
    if admin is None:
        return await error_page(request, 403, text_key="admins_only_text")
    q = _query(form.get("q"))
    try:
        if action == "roles":
            roles = [r for r in Role if form.get(f"role_{r.value}") == "1"]
            if not roles:
                return await _users_page(
                    request, lang, admin, q, form_error=t("no_roles_chosen", lang), status_code=422
                )
            await send(request, SetRoles(actor=admin.actor, user_id=user_id, roles=roles))
            notice = "roles_saved"
        elif action == "deactivate":
            await send(request, DeactivateUser(actor=admin.actor, user_id=user_id))
            notice = "deactivated"
        else:
            await send(request, ReactivateUser(actor=admin.actor, user_id=user_id))
            notice = "reactivated"
    except ProblemError as problem:
        if problem.status in (401, 403, 404):
            raise
        message = t("self_lockout", lang) if problem.code == "conflict" else None
        return await _users_page(
            request,
            lang,
            admin,
            q,
            form_error=message or problem_message(problem, lang),
            status_code=problem.status,
        )
    params = {"notice": notice, **({"q": q} if q else {})}
    return await redirect(request, page_url(lang, "users?" + urlencode(params)), lang)


@router.post("/{lang}/users/{user_id}/roles")
async def set_roles(request: Request, lang: PageLang, user_id: UUID) -> Response:
    return await _change(request, lang, user_id, "roles")


@router.post("/{lang}/users/{user_id}/deactivate")
async def deactivate(request: Request, lang: PageLang, user_id: UUID) -> Response:
    return await _change(request, lang, user_id, "deactivate")


@router.post("/{lang}/users/{user_id}/reactivate")
async def reactivate(request: Request, lang: PageLang, user_id: UUID) -> Response:
    return await _change(request, lang, user_id, "reactivate")

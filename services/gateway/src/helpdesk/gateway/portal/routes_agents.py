"""The agents' workflow in the portal (docs/assignment.md, docs/portal.md):

* `/{lang}/queues`: every queue of the routing policy with its assignment
  policy and members; agents see it, admins set the members by username;
* `/{lang}/availability`: available or away (with an optional "back at"); the
  header of every page carries the same toggle for agents.

The pages call the same commands as the REST API; the services decide who may
do what (an agent who posts the members form gets the 403 page).
"""

from __future__ import annotations

import re
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.contracts.agents import MEMBERS_MAX, ListQueues, SetAvailability, SetQueueMembers
from helpdesk.contracts.people import ListUsers
from helpdesk.contracts.tickets import AssignmentPolicy
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.errors import error_page
from helpdesk.gateway.portal.forms import (
    Form,
    add_field_errors,
    local_datetime,
    problem_message,
    read_form,
)
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import page_url, redirect, render, safe_next
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import PortalUser, signed_in_user
from helpdesk.gateway.problems import ProblemError

router = APIRouter()

NOTICES = {"members_saved": "members_saved", "availability_saved": "availability_saved"}

_SEPARATORS = re.compile(r"[\s,;]+")


def _notice(notice: str | None, lang: Lang) -> str | None:
    return t(NOTICES[notice], lang) if notice in NOTICES else None


# ------------------------------------------------------------------ queues


async def _queues_page(
    request: Request,
    lang: Lang,
    user: PortalUser,
    *,
    notice: str | None = None,
    failed: tuple[str, Form] | None = None,
    status_code: int = 200,
) -> Response:
    result = await send(request, ListQueues(actor=user.actor))
    typed = {
        info.queue: " ".join(m.username or str(m.user_id) for m in info.members)
        for info in result.items
    }
    errors: dict[str, str] = {}
    form_error = None
    if failed is not None:
        queue, form = failed
        typed[queue] = form.get("usernames")
        errors = {queue: form.errors.get("usernames", "")}
        form_error = form.errors.get("form") or t("form_has_errors", lang)
    return await render(
        request,
        "queues.html",
        lang,
        {
            "queues": result.items,
            "typed": typed,
            "queue_errors": errors,
            "can_edit": user.is_admin,
            "policy_labels": {p.value: t(f"policy_{p.value}", lang) for p in AssignmentPolicy},
            "notice": notice,
            "form_error": form_error,
        },
        status_code=status_code,
    )


@router.get("/{lang}/queues")
async def queues_page(request: Request, lang: PageLang, notice: str | None = None) -> Response:
    user = await signed_in_user(request)
    if not user.is_agent:
        return await error_page(request, 403)
    return await _queues_page(request, lang, user, notice=_notice(notice, lang))


def _usernames(raw: str) -> list[str]:
    """The names typed, in order, each once (any case counts as the same)."""
    seen: dict[str, str] = {}
    for name in _SEPARATORS.split(raw.strip()):
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


async def _user_ids(
    request: Request, user: PortalUser, names: list[str], form: Form, lang: Lang
) -> list[UUID]:
    """Each username's id (identity's user search, exact name); unknown ones are field errors."""
    ids: list[UUID] = []
    for name in names:
        found = await send(request, ListUsers(actor=user.actor, q=name[:100], limit=200))
        match = next((u for u in found.items if u.username.casefold() == name.casefold()), None)
        if match is None:
            form.errors.setdefault("usernames", t("unknown_username", lang).format(name=name))
        else:
            ids.append(match.user_id)
    return ids


@router.post("/{lang}/queues/{queue}/members")
async def set_members(request: Request, lang: PageLang, queue: str) -> Response:
    form = await read_form(request)
    user = await signed_in_user(request)
    if not user.is_admin:
        return await error_page(request, 403, text_key="admins_only_text")
    names = _usernames(form.get("usernames")[:20_000])
    if len(names) > MEMBERS_MAX:
        form.errors["usernames"] = t("too_many_members", lang).format(count=MEMBERS_MAX)
        return await _queues_page(request, lang, user, failed=(queue, form), status_code=422)
    ids = await _user_ids(request, user, names, form, lang)
    if form.errors:
        return await _queues_page(request, lang, user, failed=(queue, form), status_code=422)
    try:
        await send(request, SetQueueMembers(actor=user.actor, queue=queue, agent_ids=ids))
    except ProblemError as problem:
        if problem.status in (401, 403, 404):
            raise
        for error in problem.errors:  # agent_ids.N: that user is no active agent
            index = error.field.rsplit(".", 1)[-1]
            name = names[int(index)] if index.isdigit() and int(index) < len(names) else "?"
            form.errors.setdefault("usernames", t("not_an_agent", lang).format(name=name))
        if not problem.errors:
            form.errors["form"] = problem_message(problem, lang)
        return await _queues_page(
            request, lang, user, failed=(queue, form), status_code=problem.status
        )
    return await redirect(
        request, page_url(lang, f"queues?notice=members_saved#queue-{queue}"), lang
    )


# ------------------------------------------------------------------ availability


@router.get("/{lang}/availability")
async def availability_page(
    request: Request, lang: PageLang, notice: str | None = None
) -> Response:
    user = await signed_in_user(request)
    if not user.is_agent:
        return await error_page(request, 403)
    return await render(request, "availability.html", lang, {"notice": _notice(notice, lang)})


@router.post("/{lang}/availability")
async def set_availability(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    user = await signed_in_user(request)
    if not user.is_agent:
        return await error_page(request, 403)
    available = form.get("available") == "1"
    back_at = None if available else local_datetime(form.get("back_at").strip())
    if not available and form.get("back_at").strip() and back_at is None:
        form.errors["back_at"] = t("invalid_back_at", lang)
    else:
        try:
            await send(
                request,
                SetAvailability(
                    actor=user.actor,
                    available=available,
                    back_at=back_at,
                    hand_back=not available and form.get("hand_back") == "1",
                ),
            )
            target = safe_next(form.get("next") or None, lang)
            return await redirect(request, target, lang)
        except ProblemError as problem:
            if problem.status in (401, 403):
                raise
            # A field's reason under the field, the banner only saying that the
            # form has errors: never the same sentence twice (issue 29).
            add_field_errors(form, problem.errors, lang)
            if not problem.errors:
                form.errors["form"] = problem_message(problem, lang)
    return await render(
        request,
        "availability.html",
        lang,
        {
            "errors": form.errors,
            "values": form.shown(),
            "form_error": form.errors.get("form") or t("form_has_errors", lang),
        },
        status_code=422,
    )

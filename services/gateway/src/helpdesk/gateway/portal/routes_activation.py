"""The activation mail's two links: activate (with the password chosen at
registration) and "this was not me" (cancel the registration).

A GET never changes anything: mail scanners and link previews follow links.
Each link opens a page with a form; only its POST acts (docs/portal.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from helpdesk.contracts.identity import ActivateAccount, CancelRegistration, Token
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.forms import Form, add_field_errors, problem_message, read_form
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import render
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.problems import ProblemError

router = APIRouter()

_TOKEN: TypeAdapter[str] = TypeAdapter(Token)


def _message(title_key: str, text_key: str, lang: Lang, **flags: bool) -> dict[str, object]:
    return {
        "title": t(title_key, lang),
        "text": t(text_key, lang),
        "login": flags.get("login", False),
        "resend": flags.get("resend", False),
    }


async def _invalid_link(request: Request, lang: Lang, title_key: str) -> Response:
    context = _message(title_key, "invalid_token", lang, resend=True)
    return await render(request, "message.html", lang, context, status_code=400)


async def _activate_form(
    request: Request, lang: Lang, form: Form, status: int = 200, error: str | None = None
) -> Response:
    context = {"values": form.shown(), "errors": form.errors, "form_error": error}
    return await render(request, "activate.html", lang, context, status_code=status)


def _a_token(token: str) -> bool:
    try:
        _TOKEN.validate_python(token)
    except ValidationError:
        return False
    return True


@router.get("/{lang}/activate")
async def activate_page(request: Request, lang: PageLang, token: str = "") -> Response:
    if not _a_token(token):
        return await _invalid_link(request, lang, "activate_title")
    return await _activate_form(request, lang, Form(values={"token": token}))


@router.post("/{lang}/activate")
async def activate(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    form.require(lang, "password")
    if not form.get("token"):
        return await _invalid_link(request, lang, "activate_title")
    if form.errors:
        return await _activate_form(request, lang, form, 422, t("form_has_errors", lang))
    try:
        command = ActivateAccount(token=form.get("token"), password=form.get("password"))
        result = await send(request, command)
    except ValidationError:
        return await _invalid_link(request, lang, "activate_title")
    except ProblemError as problem:
        if problem.status == 503:
            raise  # the friendly "briefly unavailable" page
        if problem.code == "invalid_token":
            return await _invalid_link(request, lang, "activate_title")
        if problem.code == "invalid_credentials":
            form.errors["password"] = t("activation_wrong_password", lang)
        add_field_errors(form, problem.errors, lang)
        response = await _activate_form(
            request, lang, form, problem.status, problem_message(problem, lang)
        )
        if problem.retry_after:  # 429
            response.headers["Retry-After"] = str(problem.retry_after)
        return response
    key = "already_active" if result.already_active else "activated"
    return await render(
        request, "message.html", lang, _message("activate_title", key, lang, login=True)
    )


@router.get("/{lang}/activate/cancel")
async def cancel_page(request: Request, lang: PageLang, token: str = "") -> Response:
    if not _a_token(token):
        return await _invalid_link(request, lang, "cancel_registration_title")
    return await render(request, "cancel_registration.html", lang, {"token": token})


@router.post("/{lang}/activate/cancel")
async def cancel(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    try:
        await send(request, CancelRegistration(token=form.get("token")))
    except ValidationError:
        return await _invalid_link(request, lang, "cancel_registration_title")
    except ProblemError as problem:
        if problem.code != "invalid_token":
            raise
        return await _invalid_link(request, lang, "cancel_registration_title")
    context = _message("cancel_registration_title", "registration_cancelled", lang)
    return await render(request, "message.html", lang, context)

"""Account pages: register, activate, login/logout, forgotten password and username.

Each page calls the same identity commands over NATS as the REST API does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from helpdesk.contracts.identity import (
    CompletePasswordReset,
    Login,
    Logout,
    MfaChallenge,
    RegisterUser,
    RequestPasswordReset,
    RequestUsernameReminder,
    ResendActivation,
)
from helpdesk.gateway.auth import client_address
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.forms import (
    Form,
    add_field_errors,
    add_validation_errors,
    problem_message,
    read_form,
)
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.login_steps import second_step
from helpdesk.gateway.portal.rendering import page_url, redirect, render, safe_next
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import end_session, load_state, start_session
from helpdesk.gateway.problems import ProblemError
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

router = APIRouter()


async def _form_page(
    request: Request, template: str, lang: Lang, form: Form, status: int, **extra: object
) -> Response:
    return await render(
        request,
        template,
        lang,
        {"values": form.shown(), "errors": form.errors, **extra},
        status_code=status,
    )


async def _problem_page(
    request: Request,
    template: str,
    lang: Lang,
    form: Form,
    problem: ProblemError,
    **extra: object,
) -> Response:
    """The form again after identity refused it: the problem's field errors, its
    message above the form, its status."""
    add_field_errors(form, problem.errors, lang)
    form_error = problem_message(problem, lang)
    return await _form_page(
        request, template, lang, form, problem.status, form_error=form_error, **extra
    )


# ------------------------------------------------------------------ home


@router.get("/{lang}/")
async def home(request: Request, lang: PageLang, notice: str | None = None) -> Response:
    shown = t("logged_out", lang) if notice == "logged_out" else None
    return await render(request, "home.html", lang, {"notice": shown})


# ------------------------------------------------------------------ register


@router.get("/{lang}/register")
async def register_page(request: Request, lang: PageLang, done: str | None = None) -> Response:
    if done:
        return await render(request, "register_done.html", lang)
    return await render(request, "register.html", lang)


@router.post("/{lang}/register")
async def register(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    form.require(lang, "name", "username", "email", "password", "password_confirm")
    if form.get("password") and form.get("password") != form.get("password_confirm"):
        form.errors.setdefault("password_confirm", t("passwords_differ", lang))
    command: RegisterUser | None = None
    try:
        command = RegisterUser(
            name=form.get("name").strip(),
            username=form.get("username"),
            email=form.get("email").strip(),
            password=form.get("password"),
            locale=lang,
            client_address=client_address(request),
        )
    except ValidationError as exc:
        add_validation_errors(form, exc, lang)
    if form.errors or command is None:
        return await _form_page(
            request, "register.html", lang, form, 422, form_error=t("form_has_errors", lang)
        )
    try:
        await send(request, command)
    except ProblemError as problem:
        if problem.code == "username_taken":
            form.errors["username"] = t("username_taken", lang)
        return await _problem_page(request, "register.html", lang, form, problem)
    return await redirect(request, page_url(lang, "register?done=1"), lang)


# ------------------------------------------------------------------ activation
# Activating and cancelling: routes_activation.py.


def _email_form_routes(page: str, title_key: str) -> None:
    """GET and POST /{lang}/`page`: one of the three "enter your e-mail" forms."""

    async def form_page(request: Request, lang: PageLang, done: str | None = None) -> Response:
        context = {"done": bool(done), "title_key": title_key}
        return await render(request, "email_form.html", lang, context)

    async def form_sent(request: Request, lang: PageLang) -> Response:
        return await _email_form(request, lang, page, title_key)

    router.add_api_route(f"/{{lang}}/{page}", form_page, methods=["GET"])
    router.add_api_route(f"/{{lang}}/{page}", form_sent, methods=["POST"])


_email_form_routes("activation/resend", "resend_activation_title")


def _message(title_key: str, text_key: str, lang: Lang) -> dict[str, object]:
    return {"title": t(title_key, lang), "text": t(text_key, lang), "login": False, "resend": False}


# ------------------------------------------------------------------ login / logout


@router.get("/{lang}/login")
async def login_page(request: Request, lang: PageLang, next: str | None = None) -> Response:
    state = await load_state(request)
    if state.user is not None:
        return await redirect(request, safe_next(next, lang), lang)
    return await render(request, "login.html", lang, {"values": {"next": next or ""}})


@router.post("/{lang}/login")
async def login(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    form.require(lang, "username", "password")
    if form.errors:
        return await _form_page(
            request, "login.html", lang, form, 422, form_error=t("form_has_errors", lang)
        )
    state = await load_state(request)
    command = Login(
        username=form.get("username"),
        password=form.get("password"),
        client_address=client_address(request),
        locale=lang,
    )
    try:
        answer = (await send(request, command)).root
    except ProblemError as problem:
        headers = {"Retry-After": str(problem.retry_after)} if problem.retry_after else None
        response = await _problem_page(
            request,
            "login.html",
            lang,
            form,
            problem,
            not_activated=problem.code == "account_not_activated",
        )
        if headers:
            response.headers.update(headers)
        return response
    if isinstance(answer, MfaChallenge):  # no session before the second step
        return await second_step(request, lang, answer, form.get("next"))
    start_session(state, request, answer)
    return await redirect(request, safe_next(form.get("next"), lang), lang)


@router.post("/{lang}/logout")
async def logout(request: Request, lang: PageLang) -> Response:
    await read_form(request)
    state = await load_state(request)
    if state.user is not None:
        try:
            await send(request, Logout(actor=state.user.actor))
        except ProblemError as problem:
            log.info("portal logout without revocation", code=problem.code)
    end_session(state)
    return await redirect(request, page_url(lang, "?notice=logged_out"), lang)


# ------------------------------------------------------------------ recovery


_email_form_routes("forgot-password", "forgot_password_title")
_email_form_routes("forgot-username", "forgot_username_title")


async def _email_form(request: Request, lang: Lang, page: str, title_key: str) -> Response:
    """The three "enter your e-mail" forms: same page, same always-accepted answer."""
    form = await read_form(request)
    form.require(lang, "email")
    email = form.get("email").strip()
    address = client_address(request)
    try:
        if page == "forgot-password":
            await send(
                request, RequestPasswordReset(email=email, client_address=address, locale=lang)
            )
        elif page == "forgot-username":
            await send(
                request, RequestUsernameReminder(email=email, client_address=address, locale=lang)
            )
        else:
            await send(request, ResendActivation(email=email, client_address=address, locale=lang))
    except ValidationError as exc:
        if not form.errors:
            add_validation_errors(form, exc, lang)
        return await _form_page(
            request,
            "email_form.html",
            lang,
            form,
            422,
            form_error=t("form_has_errors", lang),
            title_key=title_key,
            done=False,
        )
    except ProblemError as problem:
        return await _problem_page(
            request, "email_form.html", lang, form, problem, title_key=title_key, done=False
        )
    return await redirect(request, page_url(lang, f"{page}?done=1"), lang)


@router.get("/{lang}/reset-password")
async def reset_password_page(request: Request, lang: PageLang, token: str = "") -> Response:
    return await render(request, "reset_password.html", lang, {"values": {"token": token}})


@router.post("/{lang}/reset-password")
async def reset_password(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    form.require(lang, "new_password", "password_confirm")
    if form.get("new_password") != form.get("password_confirm"):
        form.errors.setdefault("password_confirm", t("passwords_differ", lang))
    if not form.get("token"):
        form.errors["form"] = t("invalid_token", lang)
    if form.errors:
        return await _form_page(
            request,
            "reset_password.html",
            lang,
            form,
            422,
            form_error=form.errors.get("form") or t("form_has_errors", lang),
        )
    command = CompletePasswordReset(token=form.get("token"), new_password=form.get("new_password"))
    try:
        await send(request, command)
    except ProblemError as problem:
        return await _problem_page(
            request,
            "reset_password.html",
            lang,
            form,
            problem,
            invalid_token=problem.code == "invalid_token",
        )
    # Every session of the account was revoked, this browser's included.
    end_session(await load_state(request))
    context = _message("reset_password_title", "password_changed", lang)
    context["login"] = True
    return await render(request, "message.html", lang, context)

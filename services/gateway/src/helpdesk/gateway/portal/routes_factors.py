"""Second factors in the portal: the second step of a login (a code, or enrolling
TOTP when the role needs a factor) and the account page (list, add, remove).

Between the password and the second step the browser holds only the challenge,
in a short-lived HttpOnly cookie; it has no session, so no other page opens
until the step is done (docs/sso.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.contracts import factors as contract
from helpdesk.contracts.identity import MfaChallenge, SignIn
from helpdesk.contracts.messages import Request as Request_
from helpdesk.contracts.organisation import LinkAccount
from helpdesk.gateway.auth import client_address
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.forms import Form, problem_message, read_form
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.login_steps import challenge_of, end_challenge, second_step
from helpdesk.gateway.portal.rendering import page_url, redirect, render, safe_next
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import (
    load_state,
    signed_in_user,
    start_session,
)
from helpdesk.gateway.problems import ProblemError

router = APIRouter()


async def _expired(request: Request, lang: Lang) -> Response:
    context = {"title": t("login_heading", lang), "text": t("invalid_challenge", lang)}
    response = await render(
        request, "message.html", lang, {**context, "login": True, "resend": False}, status_code=401
    )
    return end_challenge(response)


async def _signed_in(request: Request, lang: Lang, next: str | None) -> Response:
    response = await redirect(request, safe_next(next, lang), lang)
    return end_challenge(response)


# ------------------------------------------------------------------ the second step


@dataclass(frozen=True)
class Step:
    """A second step's form at /{lang}/login/`path`: its template, its one field,
    what a malformed value is called, and the command that answers the challenge
    (from the request, the form and the challenge)."""

    path: str
    template: str
    field: str
    malformed: str
    command: Callable[[Request, Form, str], Request_[Any]]


def _step_routes(step: Step) -> None:
    """GET /{lang}/login/`step.path`: the form, or the expired page without the
    challenge; POST: the form's answer."""

    async def step_page(request: Request, lang: PageLang, next: str | None = None) -> Response:
        if challenge_of(request) is None:
            return await _expired(request, lang)
        return await render(request, step.template, lang, {"values": {"next": next or ""}})

    async def step_answer(request: Request, lang: PageLang) -> Response:
        return await _answer(request, lang, await read_form(request), step)

    path = f"/{{lang}}/login/{step.path}"
    router.add_api_route(path, step_page, methods=["GET"])
    router.add_api_route(path, step_answer, methods=["POST"])


_step_routes(
    Step(
        "code",
        "mfa_code.html",
        "code",
        "invalid_code",
        lambda request, form, challenge: contract.CompleteSignIn(
            challenge_id=challenge, code=form.get("code"), client_address=client_address(request)
        ),
    )
)
# The local account's own password joins it to the organisation's identity.
_step_routes(
    Step(
        "link",
        "link_account.html",
        "password",
        "required",
        lambda request, form, challenge: LinkAccount(
            challenge_id=challenge,
            password=form.get("password"),
            client_address=client_address(request),
        ),
    )
)


async def _answer(request: Request, lang: Lang, form: Form, step: Step) -> Response:
    """Send the challenge's answer: signed in, a further step (the account's own
    second factor after a link), or the form again with what was wrong."""
    challenge = challenge_of(request)
    if challenge is None:
        return await _expired(request, lang)
    state = await load_state(request)
    try:
        answer = await send(request, step.command(request, form, challenge))
    except ValueError:
        return await _refused(request, lang, form, step, 422, t(step.malformed, lang))
    except ProblemError as problem:
        if problem.code == "invalid_challenge":
            return await _expired(request, lang)
        message = problem_message(problem, lang)
        response = await _refused(request, lang, form, step, problem.status, message)
        if problem.retry_after:
            response.headers["Retry-After"] = str(problem.retry_after)
        return response
    answer = answer.root if isinstance(answer, SignIn) else answer
    if isinstance(answer, MfaChallenge):
        return await second_step(request, lang, answer, form.get("next"))
    start_session(state, request, answer)
    return await _signed_in(request, lang, form.get("next"))


async def _refused(
    request: Request, lang: Lang, form: Form, step: Step, status: int, message: str
) -> Response:
    context = {
        "values": {"next": form.get("next")},
        "errors": {step.field: message},
        "form_error": message,
    }
    return await render(request, step.template, lang, context, status_code=status)


@router.get("/{lang}/login/enrol")
async def enrol_page(request: Request, lang: PageLang, next: str | None = None) -> Response:
    challenge = challenge_of(request)
    if challenge is None:
        return await _expired(request, lang)
    try:
        enrolment = await send(request, contract.EnrolTotpAtSignIn(challenge_id=challenge))
    except ProblemError as problem:
        if problem.status == 401:
            return await _expired(request, lang)
        raise
    return await _totp_form(request, lang, enrolment, "login/enrol", next or "")


async def _totp_form(
    request: Request,
    lang: Lang,
    enrolment: contract.TotpEnrolment,
    action: str,
    next: str,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "enrolment": enrolment,
        "action": action,
        "values": {"next": next},
        "errors": {"code": error} if error else {},
        "form_error": error,
        "at_sign_in": action == "login/enrol",
    }
    return await render(request, "mfa_enrol.html", lang, context, status_code=status)


@router.post("/{lang}/login/enrol")
async def enrol(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    challenge = challenge_of(request)
    if challenge is None:
        return await _expired(request, lang)
    state = await load_state(request)
    try:
        done = await send(
            request,
            contract.ConfirmTotpAtSignIn(
                challenge_id=challenge,
                enrolment_token=form.get("enrolment_token"),
                code=form.get("code"),
                client_address=client_address(request),
            ),
        )
    except (ValueError, ProblemError) as refused:
        if isinstance(refused, ProblemError) and refused.code == "invalid_challenge":
            return await _expired(request, lang)
        return await _retry_enrolment(request, lang, form.get("next"), refused, "login/enrol")
    assert done.tokens is not None
    start_session(state, request, done.tokens)
    response = await _recovery_codes(request, lang, done, safe_next(form.get("next"), lang))
    return end_challenge(response)


async def _retry_enrolment(
    request: Request, lang: Lang, next: str, refused: Exception, action: str
) -> Response:
    """The same seed again (re-sealed by a fresh enrolment would be a new key): a
    wrong first code gives a new key to add, with the reason on top."""
    status = refused.status if isinstance(refused, ProblemError) else 422
    message = (
        problem_message(refused, lang)
        if isinstance(refused, ProblemError)
        else t("invalid_code", lang)
    )
    if action == "login/enrol":
        challenge = challenge_of(request) or ""
        enrolment = await send(request, contract.EnrolTotpAtSignIn(challenge_id=challenge))
    else:
        user = await signed_in_user(request)
        enrolment = await send(request, contract.StartTotpEnrolment(actor=user.actor))
    response = await _totp_form(
        request, lang, enrolment, action, next, error=message, status=status
    )
    if isinstance(refused, ProblemError) and refused.retry_after:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


async def _recovery_codes(
    request: Request, lang: Lang, done: contract.TotpEnrolled, onward: str
) -> Response:
    context = {"codes": done.recovery_codes, "onward": onward}
    response = await render(request, "recovery_codes.html", lang, context)
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------ the account page


@router.get("/{lang}/account")
async def account_page(request: Request, lang: PageLang, notice: str | None = None) -> Response:
    user = await signed_in_user(request)
    listed = await send(request, contract.GetFactors(actor=user.actor))
    shown = {"removed": t("factor_removed", lang), "passkey_added": t("passkey_added", lang)}.get(
        notice or ""
    )
    return await render(request, "account.html", lang, {"factors": listed, "notice": shown})


@router.post("/{lang}/account/totp")
async def start_totp(request: Request, lang: PageLang) -> Response:
    await read_form(request)
    user = await signed_in_user(request)
    enrolment = await send(request, contract.StartTotpEnrolment(actor=user.actor))
    return await _totp_form(request, lang, enrolment, "account/totp/confirm", "")


@router.post("/{lang}/account/totp/confirm")
async def confirm_totp(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    user = await signed_in_user(request)
    try:
        done = await send(
            request,
            contract.ConfirmTotpEnrolment(
                actor=user.actor,
                enrolment_token=form.get("enrolment_token"),
                code=form.get("code"),
                client_address=client_address(request),
            ),
        )
    except (ValueError, ProblemError) as refused:
        return await _retry_enrolment(request, lang, "", refused, "account/totp/confirm")
    return await _recovery_codes(request, lang, done, page_url(lang, "account"))


@router.post("/{lang}/account/factors/remove")
async def remove_factor(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    user = await signed_in_user(request)
    factor = "passkey" if form.get("factor") == "passkey" else "totp"
    await send(request, contract.RemoveFactor(actor=user.actor, factor=factor))
    return await redirect(request, page_url(lang, "account?notice=removed"), lang)

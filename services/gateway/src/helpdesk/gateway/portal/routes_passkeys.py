"""Passkeys in the portal (docs/sso.md, "Passkeys"): the JSON endpoints
static/passkeys.js calls with the page's CSRF token — add one on the account
page, sign in with one on the login page (no password) or at the second step
(the challenge cookie's account). Each answers where to go next, or why not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from helpdesk.contracts import passkeys as contract
from helpdesk.contracts.identity import MfaChallenge
from helpdesk.gateway.auth import client_address
from helpdesk.gateway.commands import send
from helpdesk.gateway.portal.forms import Form, problem_message, read_form
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.login_steps import challenge_of, end_challenge
from helpdesk.gateway.portal.rendering import page_url, safe_next
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import (
    apply_cookies,
    load_state,
    signed_in_user,
    start_session,
)
from helpdesk.gateway.problems import ProblemError

router = APIRouter()


@router.post("/{lang}/account/passkey/options")
async def registration_options(request: Request, lang: PageLang) -> Response:
    await read_form(request)
    user = await signed_in_user(request)
    return await _json(request, lang, contract.StartPasskeyRegistration(actor=user.actor))


@router.post("/{lang}/account/passkey")
async def add_passkey(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    user = await signed_in_user(request)
    try:
        command = contract.FinishPasskeyRegistration(
            actor=user.actor, ceremony=form.get("ceremony"), credential=form.get("credential")
        )
        await send(request, command)
    except (ValueError, ProblemError) as refused:
        return _refused(refused, lang)
    return JSONResponse({"next": page_url(lang, "account?notice=passkey_added")})


@router.post("/{lang}/login/passkey/options")
async def sign_in_options(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    command = contract.StartPasskeySignIn(challenge_id=_second_step(request, form))
    return await _json(request, lang, command)


@router.post("/{lang}/login/passkey")
async def sign_in(request: Request, lang: PageLang) -> Response:
    form = await read_form(request)
    state = await load_state(request)
    try:
        command = contract.CompletePasskeySignIn(
            ceremony=form.get("ceremony"),
            credential=form.get("credential"),
            challenge_id=_second_step(request, form),
            client_address=client_address(request),
        )
        answer = (await send(request, command)).root
    except (ValueError, ProblemError) as refused:
        return _refused(refused, lang)
    if isinstance(answer, MfaChallenge):  # never for a passkey; as any sign-in would
        return _refused(ValueError(), lang)
    start_session(state, request, answer)
    response = JSONResponse({"next": safe_next(form.get("next") or None, lang)})
    apply_cookies(request, response, state, lang)  # the session's, as redirect() does
    return end_challenge(response)


def _second_step(request: Request, form: Form) -> str | None:
    """The challenge of the sign-in under way, when the page is its second step."""
    if form.get("second_step") != "1":
        return None
    return challenge_of(request)


async def _json(request: Request, lang: Lang, command: Any) -> Response:
    try:
        started = await send(request, command)
    except (ValueError, ProblemError) as refused:
        return _refused(refused, lang)
    return JSONResponse({"options": started.options, "ceremony": started.ceremony})


def _refused(refused: Exception, lang: Lang) -> Response:
    if isinstance(refused, ProblemError):
        return JSONResponse({"error": problem_message(refused, lang)}, refused.status)
    return JSONResponse({"error": t("passkey_refused", lang)}, 422)

"""Sign in with the organisation's OpenID Connect provider or SAML IdP (docs/sso.md).

`login/organisation` asks identity for a fresh flow (state, nonce, PKCE; sealed
by identity) and sends the browser to the provider; the flow waits in an
HttpOnly cookie, so the provider's redirect back to `/helpdesk/oidc/callback`
completes only in the browser that started it, and only once. From there on it
is an ordinary sign-in: a session, or first a second factor or a local account
to join.

SAML: `login/saml` sends the browser to the IdP with an AuthnRequest whose ID
identity made; the IdP posts the response back to `/helpdesk/saml/acs` (a
cross-site POST, so no cookie and no CSRF token: the response itself must
answer an unexpired request of ours and is good once). `/helpdesk/saml/metadata`
is the service provider's metadata for the IdP's administrators.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from helpdesk.contracts.identity import MfaChallenge
from helpdesk.contracts.organisation import (
    CompleteOidcSignIn,
    CompleteSamlSignIn,
    GetSamlMetadata,
    StartOidcSignIn,
    StartSamlSignIn,
)
from helpdesk.gateway.auth import client_address
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.portal.forms import problem_message
from helpdesk.gateway.portal.i18n import Lang, lang_or_none, t
from helpdesk.gateway.portal.login_steps import second_step
from helpdesk.gateway.portal.rendering import PREFIX, redirect, render, safe_next
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import load_state, secure_cookies, start_session
from helpdesk.gateway.problems import ProblemError

router = APIRouter()

FLOW_COOKIE = "helpdesk_oidc"
CALLBACK = "/oidc/callback"


@router.get("/{lang}/login/organisation")
async def organisation_sign_in(request: Request, lang: PageLang) -> Response:
    settings = gateway_of(request).settings
    redirect_uri = settings.public_url.rstrip("/") + PREFIX + CALLBACK
    try:
        started = await send(request, StartOidcSignIn(redirect_uri=redirect_uri, locale=lang))
    except ProblemError as problem:
        return await _failed(request, lang, problem.status, problem_message(problem, lang))
    response = RedirectResponse(started.authorization_url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        f"{lang}.{started.flow}",
        max_age=started.expires_in,
        path=PREFIX + "/",
        httponly=True,
        secure=secure_cookies(request),
        samesite="lax",  # the provider's redirect back is a top-level GET
    )
    return response


@router.get(CALLBACK)
async def oidc_callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    iss: str | None = None,
    error: str | None = None,
) -> Response:
    lang_text, _, flow = request.cookies.get(FLOW_COOKIE, "").partition(".")
    lang: Lang = lang_or_none(lang_text) or "el"
    if error or not (code and state and flow):  # the person said no, or no flow here
        return await _failed(request, lang, 401, t("organisation_sign_in_failed", lang))
    try:
        command = CompleteOidcSignIn(
            flow=flow, code=code, state=state, iss=iss, client_address=client_address(request)
        )
    except ValueError:
        return await _failed(request, lang, 401, t("organisation_sign_in_failed", lang))
    return await _signed_in(request, lang, command)


async def _signed_in(
    request: Request, lang: Lang, command: CompleteOidcSignIn | CompleteSamlSignIn
) -> Response:
    """The organisation's answer sent to identity: a session, a further step, or why not."""
    session = await load_state(request)
    try:
        answer = (await send(request, command)).root
    except ProblemError as problem:
        known = problem.code in ("invalid_credentials", "invalid_challenge")
        message = (
            t("organisation_sign_in_failed", lang) if known else problem_message(problem, lang)
        )
        return await _failed(request, lang, problem.status, message)
    if isinstance(answer, MfaChallenge):
        response = await second_step(request, lang, answer, "")
    else:
        start_session(session, request, answer)
        response = await redirect(request, safe_next(None, lang), lang)
    response.delete_cookie(FLOW_COOKIE, path=PREFIX + "/")
    return response


@router.get("/{lang}/login/saml")
async def saml_sign_in(request: Request, lang: PageLang) -> Response:
    try:
        started = await send(request, StartSamlSignIn(locale=lang))
    except ProblemError as problem:
        return await _failed(request, lang, problem.status, problem_message(problem, lang))
    return RedirectResponse(started.redirect_url, status_code=303)


@router.post("/saml/acs")
async def saml_acs(request: Request) -> Response:
    data = await request.form()
    relay = data.get("RelayState")
    lang: Lang = lang_or_none(relay if isinstance(relay, str) else None) or "el"
    saml_response = data.get("SAMLResponse")
    if not isinstance(saml_response, str) or not saml_response:
        return await _failed(request, lang, 400, t("organisation_sign_in_failed", lang))
    try:
        command = CompleteSamlSignIn(
            saml_response=saml_response,
            relay_state=lang,
            client_address=client_address(request),
        )
    except ValueError:
        return await _failed(request, lang, 400, t("organisation_sign_in_failed", lang))
    return await _signed_in(request, lang, command)


@router.get("/saml/metadata")
async def saml_metadata(request: Request) -> Response:
    metadata = await send(request, GetSamlMetadata())
    return Response(metadata.xml, media_type="application/samlmetadata+xml")


async def _failed(request: Request, lang: Lang, status: int, text: str) -> Response:
    context = {
        "title": t("organisation_sign_in", lang),
        "text": text,
        "login": True,
        "resend": False,
    }
    response = await render(request, "message.html", lang, context, status_code=status)
    response.delete_cookie(FLOW_COOKIE, path=PREFIX + "/")
    return response

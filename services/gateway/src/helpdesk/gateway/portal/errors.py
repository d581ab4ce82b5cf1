"""Friendly HTML pages for errors under /helpdesk; /api/v1 keeps problem+json.

The gateway's problem handlers stay in charge of everything else: the portal
wraps them and answers only for paths under its own prefix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from helpdesk.gateway.portal.forms import CsrfError
from helpdesk.gateway.portal.i18n import DEFAULT_LANG, Lang, lang_or_none, t
from helpdesk.gateway.portal.rendering import PREFIX, login_redirect_target, redirect, render
from helpdesk.gateway.portal.session import LOCALE_COOKIE, LoginRequired
from helpdesk.gateway.problems import ProblemError, logged_path
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

Handler = Callable[[Request, Any], Awaitable[Response]]

# Statuses with a page of their own; others fall back to the nearest.
_PAGES = {400: 404, 401: 403, 403: 403, 404: 404, 405: 404, 409: 409, 422: 422, 429: 429, 503: 503}


def is_portal(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def lang_of(request: Request) -> Lang:
    parts = request.url.path.split("/")
    found = lang_or_none(parts[2]) if len(parts) > 2 else None
    return found or lang_or_none(request.cookies.get(LOCALE_COOKIE)) or DEFAULT_LANG


async def error_page(
    request: Request,
    status: int,
    *,
    text_key: str | None = None,
    retry_after: int | None = None,
) -> Response:
    lang = lang_of(request)
    page = _PAGES.get(status, 500)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    context = {
        "status": status,
        "title": t(f"error_{page}_title", lang),
        "text": t(text_key or f"error_{page}_text", lang),
        "reference": getattr(request.state, "correlation_id", None),
    }
    return await render(request, "error.html", lang, context, status_code=status, headers=headers)


def install_error_pages(app: FastAPI) -> None:
    def wrap(exc_class: Any, portal_handler: Handler) -> None:
        original: Handler | None = app.exception_handlers.get(exc_class)  # type: ignore[assignment]

        async def handler(request: Request, exc: Any) -> Response:
            if is_portal(request):
                try:
                    return await portal_handler(request, exc)
                except Exception:  # never let the error page itself fail the request
                    log.exception("portal error page failed", path=logged_path(request))
            if original is None:
                raise exc
            return await original(request, exc)

        app.add_exception_handler(exc_class, handler)

    async def on_problem(request: Request, exc: ProblemError) -> Response:
        if exc.status == 401:
            lang = lang_of(request)
            return await redirect(request, login_redirect_target(request, lang), lang)
        if exc.status >= 500:
            log.warning("portal page unavailable", code=exc.code, path=logged_path(request))
        return await error_page(request, exc.status, retry_after=exc.retry_after)

    async def on_login_required(request: Request, exc: LoginRequired) -> Response:
        lang = lang_of(request)
        return await redirect(request, login_redirect_target(request, lang), lang)

    async def on_csrf(request: Request, exc: CsrfError) -> Response:
        log.info("portal form refused: CSRF token missing or wrong", path=logged_path(request))
        return await error_page(request, 403, text_key="error_csrf_text")

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        return await error_page(request, exc.status_code)

    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        # Only path and query parameters are validated by FastAPI here (a ticket
        # id that is not a UUID): the page does not exist.
        return await error_page(request, 404)

    async def on_bad_input(request: Request, exc: ValidationError) -> Response:
        # A form value the contract refuses before any form check caught it
        # (e.g. a 300-character username at login): the input, not the server.
        log.info("portal input refused by the contract", path=logged_path(request))
        return await error_page(request, 422)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled portal error", path=logged_path(request))
        return await error_page(request, 500)

    wrap(ProblemError, on_problem)
    wrap(StarletteHTTPException, on_http)
    wrap(RequestValidationError, on_validation)
    wrap(ValidationError, on_bad_input)
    wrap(Exception, on_unexpected)
    app.add_exception_handler(LoginRequired, on_login_required)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfError, on_csrf)  # type: ignore[arg-type]

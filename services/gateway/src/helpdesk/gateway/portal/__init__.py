"""The web portal: server-rendered pages in Greek and English under /helpdesk/{el,en}/.

`install(app)` mounts the pages, their static files and their HTML error pages.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from helpdesk.gateway.portal import (
    attachments,
    routes_accounts,
    routes_activation,
    routes_agents,
    routes_erasure,
    routes_factors,
    routes_live,
    routes_my_data,
    routes_organisation,
    routes_passkeys,
    routes_reports,
    routes_ticket_actions,
    routes_tickets,
    routes_users,
)
from helpdesk.gateway.portal.errors import install_error_pages
from helpdesk.gateway.portal.i18n import lang_or_none, preferred_lang
from helpdesk.gateway.portal.rendering import PREFIX, page_url
from helpdesk.gateway.portal.session import LOCALE_COOKIE

__all__ = ["install"]

_root = APIRouter()

# The modules whose `router` holds pages under PREFIX, in the order they are matched.
_PAGES = (
    routes_accounts,
    routes_activation,
    routes_tickets,
    routes_ticket_actions,
    routes_live,
    routes_reports,
    attachments,
    routes_agents,
    routes_users,
    routes_factors,
    routes_organisation,
    routes_passkeys,
    routes_my_data,
    routes_erasure,
)


@_root.get(PREFIX)
@_root.get(PREFIX + "/")
async def portal_root(request: Request) -> Response:
    """The remembered language (cookie), else the browser's if Greek or English, else Greek."""
    lang = lang_or_none(request.cookies.get(LOCALE_COOKIE)) or preferred_lang(
        request.headers.get("accept-language")
    )
    return RedirectResponse(page_url(lang), status_code=303)


@_root.get("/")
async def site_root() -> Response:
    return RedirectResponse(PREFIX + "/", status_code=303)


def install(app: FastAPI) -> None:
    static = files("helpdesk.gateway.portal").joinpath("static")
    app.mount(PREFIX + "/static", StaticFiles(directory=str(static)), name="portal-static")
    app.include_router(_root, include_in_schema=False)
    for pages in _PAGES:
        app.include_router(pages.router, prefix=PREFIX, include_in_schema=False)
    install_error_pages(app)

"""The portal's "Τα δεδομένα μου" / "My data" page (issue 30; docs/privacy.md,
"Export"): download everything the helpdesk keeps about you as a ZIP, through the
browser's session. A plain link: it works without JavaScript.

The page leaves room for asking for deletion (`my_data_deletion.html`, included
by `my_data.html` when it exists).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.gateway.export_archive import export_response
from helpdesk.gateway.portal.rendering import render
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import apply_cookies, load_state, signed_in_user

router = APIRouter()


@router.get("/{lang}/my-data")
async def my_data_page(request: Request, lang: PageLang) -> Response:
    await signed_in_user(request)
    return await render(request, "my_data.html", lang)


@router.get("/{lang}/my-data/export")
async def my_data_export(request: Request, lang: PageLang) -> Response:
    """The same ZIP as `GET /api/v1/me/export`, for the signed-in browser."""
    user = await signed_in_user(request)
    response = await export_response(request, user.actor, user.user_id)
    apply_cookies(request, response, await load_state(request), lang)  # a refreshed session
    return response

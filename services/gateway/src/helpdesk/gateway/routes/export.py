"""/api/v1/me/export and /api/v1/users/{id}/export: a person's data as a ZIP
(issue 30; docs/privacy.md, "Export"). Contracts in `helpdesk.contracts.export`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.contracts.actors import Role
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.export_archive import ZIP, export_response
from helpdesk.gateway.openapi import answers
from helpdesk.gateway.problems import ProblemError

router = APIRouter(prefix="/api/v1", tags=["privacy"])

_ARCHIVE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the ZIP, streamed: README.txt in the person's language, "
        "profile.json, sign-ins.json, tickets/, files/, ratings.json, mails.json",
        "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "Content-Disposition": {
                "description": 'attachment; filename="helpdesk-export-<username>-<yyyy-mm-dd>.zip"',
                "schema": {"type": "string"},
            }
        },
    }
}


@router.get("/me/export", response_class=Response, responses=answers("not_found", extra=_ARCHIVE))
async def export_me(request: Request, actor: CurrentActor) -> Response:
    """Everything the helpdesk keeps about you, as a ZIP (GDPR access and portability)."""
    return await export_response(request, actor, actor.user_id)


@router.get(
    "/users/{user_id}/export",
    response_class=Response,
    responses=answers("forbidden", "not_found", extra=_ARCHIVE),
)
async def export_user(request: Request, actor: CurrentActor, user_id: UUID) -> Response:
    """Admins: everything the helpdesk keeps about a user, as a ZIP."""
    if Role.ADMIN not in actor.roles:
        raise ProblemError(403, "forbidden", "Only admins export another user's data.")
    return await export_response(request, actor, user_id)

"""/api/v1/me/erasure-request, /api/v1/erasure-requests and
/api/v1/users/{id}/erase: a person asks to be erased, admins list the requests
and erase (issue 30; docs/privacy.md, "Erasure from the portal, the API and the
CLI"). Contracts in `helpdesk.contracts.privacy`; identity decides every refusal
from the proven actor (403 for non-admins, 404 unknown, 409 erasing yourself).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, status

from helpdesk.contracts.privacy import (
    EraseUser,
    ErasureAccepted,
    ErasureBody,
    ErasureRequestBody,
    ErasureRequested,
    ErasureRequests,
    ListErasureRequests,
    RequestErasure,
)
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send
from helpdesk.gateway.openapi import answers
from helpdesk.gateway.routes.common import NO_STORE

# The answers name people (the requests' names and addresses): no copies kept.
router = APIRouter(prefix="/api/v1", tags=["privacy"], dependencies=NO_STORE)


@router.post(
    "/me/erasure-request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ErasureRequested,
    responses=answers("not_found"),
)
async def request_erasure(
    request: Request, actor: CurrentActor, body: ErasureRequestBody
) -> ErasureRequested:
    """Ask for your data to be erased; an admin confirms (asking again replaces the note)."""
    return await send(request, RequestErasure(actor=actor, **body.model_dump()))


@router.get("/erasure-requests", response_model=ErasureRequests, responses=answers("forbidden"))
async def erasure_requests(request: Request, actor: CurrentActor) -> ErasureRequests:
    """Admins: the pending requests, oldest first."""
    return await send(request, ListErasureRequests(actor=actor))


@router.post(
    "/users/{user_id}/erase",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ErasureAccepted,
    responses=answers("forbidden", "not_found", "conflict"),
)
async def erase_user(
    request: Request, actor: CurrentActor, user_id: UUID, body: ErasureBody
) -> ErasureAccepted:
    """Admins, never themselves: destroy the person's key; every service scrubs its
    copies within a minute. Erasing an erased person again answers the first time.
    The reason is kept as the record of the erasure: it must name nobody."""
    return await send(request, EraseUser(actor=actor, user_id=user_id, **body.model_dump()))

"""/api/v1/queues, /api/v1/me/availability and /api/v1/users: the agents'
workflow and people administration (docs/assignment.md). Queues and
availability are the tickets service's; users are identity's. Admin-only
routes answer 403 to everyone else (the services decide, from the proven actor).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request

from helpdesk.contracts.agents import (
    Availability,
    AvailabilityChange,
    GetAvailability,
    GetQueueMembers,
    ListQueues,
    QueueInfo,
    QueueList,
    QueueMembership,
    SetAvailability,
    SetQueueMembers,
)
from helpdesk.contracts.people import (
    DeactivateUser,
    ListUsers,
    ReactivateUser,
    RoleSet,
    SetRoles,
    UserList,
    UserStatusChanged,
)
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send
from helpdesk.gateway.openapi import answers

router = APIRouter(prefix="/api/v1", tags=["agents"])

QueuePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


_ADMIN = answers("forbidden", "not_found", "conflict")


@router.get("/queues", response_model=QueueList, responses=answers("forbidden"))
async def queues(request: Request, actor: CurrentActor) -> QueueList:
    """Every queue of the routing policy, its assignment policy and members (agents)."""
    return await send(request, ListQueues(actor=actor))


@router.get("/queues/{queue}/members", response_model=QueueInfo, responses=_ADMIN)
async def queue_members(request: Request, actor: CurrentActor, queue: QueuePath) -> QueueInfo:
    return await send(request, GetQueueMembers(actor=actor, queue=queue))


@router.put("/queues/{queue}/members", response_model=QueueInfo, responses=_ADMIN)
async def set_queue_members(
    request: Request, actor: CurrentActor, queue: QueuePath, body: QueueMembership
) -> QueueInfo:
    """Set all the queue's members (admins; 403 otherwise, 422 for a non-agent)."""
    return await send(request, SetQueueMembers(actor=actor, queue=queue, **body.model_dump()))


@router.get("/me/availability", response_model=Availability, responses=answers("forbidden"))
async def my_availability(request: Request, actor: CurrentActor) -> Availability:
    return await send(request, GetAvailability(actor=actor))


@router.put("/me/availability", response_model=Availability, responses=answers("forbidden"))
async def set_my_availability(
    request: Request, actor: CurrentActor, body: AvailabilityChange
) -> Availability:
    """Available or away (agents; 403 for customers); away agents get no new tickets."""
    return await send(request, SetAvailability(actor=actor, **body.model_dump()))


@router.get("/users", response_model=UserList, responses=answers("forbidden"))
async def users(
    request: Request,
    actor: CurrentActor,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> UserList:
    """Users by username (admins)."""
    return await send(request, ListUsers(actor=actor, q=q, limit=limit))


@router.post("/users/{user_id}/deactivate", response_model=UserStatusChanged, responses=_ADMIN)
async def deactivate(request: Request, actor: CurrentActor, user_id: UUID) -> UserStatusChanged:
    """End the user's sessions and access; their open tickets go back to their queues."""
    return await send(request, DeactivateUser(actor=actor, user_id=user_id))


@router.post("/users/{user_id}/reactivate", response_model=UserStatusChanged, responses=_ADMIN)
async def reactivate(request: Request, actor: CurrentActor, user_id: UUID) -> UserStatusChanged:
    return await send(request, ReactivateUser(actor=actor, user_id=user_id))


@router.post("/users/{user_id}/roles", response_model=UserStatusChanged, responses=_ADMIN)
async def set_roles(
    request: Request, actor: CurrentActor, user_id: UUID, body: RoleSet
) -> UserStatusChanged:
    """Set all the user's roles (grant and revoke; admins)."""
    return await send(request, SetRoles(actor=actor, user_id=user_id, **body.model_dump()))

"""/api/v1/webhooks: admins register signed webhooks and read their delivery logs
(contracts in helpdesk.contracts.webhooks; served by the notifier; docs/api.md)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from helpdesk.contracts.actors import Role
from helpdesk.contracts.identity import GetProfile
from helpdesk.contracts.webhooks import (
    DeleteWebhook,
    ListWebhookDeliveries,
    ListWebhooks,
    RegisterWebhook,
    ResendWebhookDelivery,
    WebhookCreated,
    WebhookDeliveries,
    WebhookDelivery,
    WebhookDraft,
    WebhookList,
)
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send
from helpdesk.gateway.openapi import answers
from helpdesk.gateway.problems import ProblemError

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

_ADMIN = answers("forbidden", "not_found")


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    responses=answers("forbidden", "not_found", "webhook_url_refused"),
)
async def register_webhook(
    request: Request, response: Response, actor: CurrentActor, body: WebhookDraft
) -> WebhookCreated:
    """Register an endpoint for the chosen event types (admins). The answer carries
    the signing secret, shown this once; private, loopback and link-local targets
    and plain http are refused (422) unless allow-listed."""
    if Role.ADMIN not in actor.roles:  # before asking identity for the admin's address
        raise ProblemError(403, "forbidden", "Only admins manage webhooks.")
    profile = await send(request, GetProfile(actor=actor))
    command = RegisterWebhook(
        actor=actor,
        alert_email=str(profile.email),
        alert_locale=profile.locale,
        **body.model_dump(),
    )
    response.headers["Cache-Control"] = "no-store"
    created = await send(request, command)
    response.headers["Location"] = f"/api/v1/webhooks/{created.webhook_id}"
    return created


@router.get("", response_model=WebhookList, responses=_ADMIN)
async def list_webhooks(request: Request, actor: CurrentActor) -> WebhookList:
    """Every registered endpoint (admins); secrets are never shown again."""
    return await send(request, ListWebhooks(actor=actor))


@router.delete("/{webhook_id}", status_code=204, responses=_ADMIN)
async def delete_webhook(request: Request, actor: CurrentActor, webhook_id: UUID) -> Response:
    """Remove an endpoint and its delivery log (admins)."""
    await send(request, DeleteWebhook(actor=actor, webhook_id=webhook_id))
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=WebhookDeliveries, responses=_ADMIN)
async def list_webhook_deliveries(
    request: Request,
    actor: CurrentActor,
    webhook_id: UUID,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WebhookDeliveries:
    """The endpoint's deliveries, newest first: status, attempts, last answer (admins)."""
    return await send(
        request, ListWebhookDeliveries(actor=actor, webhook_id=webhook_id, limit=limit)
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/resend",
    response_model=WebhookDelivery,
    responses=_ADMIN,
)
async def resend_webhook_delivery(
    request: Request, actor: CurrentActor, webhook_id: UUID, delivery_id: UUID
) -> WebhookDelivery:
    """Send a delivery again from now (the same `webhook-id`); a disabled endpoint is
    enabled again (admins)."""
    return await send(
        request, ResendWebhookDelivery(actor=actor, webhook_id=webhook_id, delivery_id=delivery_id)
    )

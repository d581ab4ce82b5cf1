"""Signed webhooks: the endpoints admins register, what is delivered to them, and
the delivery log (docs/api.md, "Webhooks"). Served by the notifier.

A delivery's body is `WebhookPayload` as JSON; its headers follow the Standard
Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.messages import Command, Query, ResultT
from helpdesk.contracts.replies import Empty
from helpdesk.contracts.text import NO_CONTROL_CHARS

SERVICE = "notifier"


class WebhookEventType(StrEnum):
    """What an endpoint can subscribe to. The plain types carry no personal data (ids,
    numbers, priorities, queues, statuses, due times); the `.personal` ones add the
    customer's words and contact, and are sent only where an admin chose them."""

    TICKET_SUBMITTED = "ticket.submitted"
    TICKET_MESSAGE_ADDED = "ticket.message_added"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    TICKET_PRIORITY_CHANGED = "ticket.priority_changed"
    TICKET_ASSIGNED = "ticket.assigned"
    TICKET_SUBMITTED_PERSONAL = "ticket.submitted.personal"
    TICKET_MESSAGE_ADDED_PERSONAL = "ticket.message_added.personal"


PERSONAL_EVENT_TYPES = frozenset(
    {WebhookEventType.TICKET_SUBMITTED_PERSONAL, WebhookEventType.TICKET_MESSAGE_ADDED_PERSONAL}
)

URL_MAX = 2000

WebhookUrl = Annotated[
    str,
    Field(
        min_length=10,
        max_length=URL_MAX,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+(?:[/?#][^\s]*)?$",
        description="https (or an allow-listed host); private, loopback and link-local"
        " addresses are refused unless allowed (HELPDESK_WEBHOOK_ALLOWED_HOSTS)",
    ),
]


class WebhookDraft(BaseModel):
    """`POST /api/v1/webhooks`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: WebhookUrl
    event_types: list[WebhookEventType] = Field(min_length=1, max_length=len(WebhookEventType))
    description: Annotated[str, Field(max_length=200), NO_CONTROL_CHARS] = ""


class Webhook(BaseModel):
    webhook_id: UUID
    url: str
    event_types: list[WebhookEventType]
    description: str
    enabled: bool
    disabled_reason: str | None = None
    created_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(
        description="whsec_<base64>: the signing secret, shown this once (docs/api.md)"
    )


class WebhookList(BaseModel):
    items: list[Webhook]


DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookDelivery(BaseModel):
    delivery_id: UUID = Field(description="the `webhook-id` header of every attempt")
    webhook_id: UUID
    event_type: WebhookEventType
    event_id: UUID
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


class WebhookDeliveries(BaseModel):
    items: list[WebhookDelivery]


class WebhookPayload(BaseModel):
    """The JSON body of a delivery."""

    type: WebhookEventType
    timestamp: datetime
    data: dict[str, Any]


# ---------------------------------------------------------------- commands


class _WebhookCommand(Command[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


class _WebhookQuery(Query[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


class RegisterWebhook(_WebhookCommand[WebhookCreated], WebhookDraft):
    """An admin registers an endpoint; `alert_email` (the admin's own address, from
    their profile) is told if it is disabled."""

    verb: ClassVar[str] = "register_webhook"
    actor: Actor
    alert_email: str | None = Field(default=None, max_length=320)
    alert_locale: Literal["el", "en"] = "el"


class ListWebhooks(_WebhookQuery[WebhookList]):
    verb: ClassVar[str] = "list_webhooks"
    actor: Actor


class DeleteWebhook(_WebhookCommand[Empty]):
    verb: ClassVar[str] = "delete_webhook"
    actor: Actor
    webhook_id: UUID


class ListWebhookDeliveries(_WebhookQuery[WebhookDeliveries]):
    verb: ClassVar[str] = "list_webhook_deliveries"
    actor: Actor
    webhook_id: UUID
    limit: int = Field(default=50, ge=1, le=200)


class ResendWebhookDelivery(_WebhookCommand[WebhookDelivery]):
    """Send a delivery again (a new attempt series, the same `webhook-id`); also
    enables the endpoint again if it had been disabled."""

    verb: ClassVar[str] = "resend_webhook_delivery"
    actor: Actor
    webhook_id: UUID
    delivery_id: UUID

"""Signed webhooks: the ticket events each endpoint chose, recorded as deliveries
in the consumer's statement and sent after commit (adapters/webhook_sender.py),
and the admins' commands over the endpoints and their delivery logs.

The rules (signature, targets, retries, what is personal) are in
domain/webhooks.py; why the notifier hosts them is in docs/api.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias
from uuid import UUID

from pydantic import BaseModel

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Empty, FieldError, Refused
from helpdesk.contracts.tickets import (
    TicketAssigned,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
    TicketSubmitted,
)
from helpdesk.contracts.webhooks import (
    DeleteWebhook,
    ListWebhookDeliveries,
    ListWebhooks,
    RegisterWebhook,
    ResendWebhookDelivery,
    Webhook,
    WebhookCreated,
    WebhookDeliveries,
    WebhookDelivery,
    WebhookEventType,
    WebhookList,
)
from helpdesk.notifier.domain import webhooks as rules
from helpdesk.servicekit.events import EventHandlers

# ------------------------------------------------------------------ ports


class WebhookOutbox(Protocol):
    """Records, for the event being handled, one delivery per enabled endpoint that
    chose each type (keyed by endpoint, event and type: a redelivery adds nothing)."""

    async def record(self, payloads: dict[WebhookEventType, dict[str, Any]]) -> int: ...


class WebhookStore(Protocol):
    async def create(self, command: RegisterWebhook, secret: str) -> WebhookCreated: ...
    async def all(self) -> list[Webhook]: ...
    async def delete(self, webhook_id: UUID) -> bool: ...
    async def deliveries(self, webhook_id: UUID, limit: int) -> list[WebhookDelivery] | None: ...
    async def resend(self, webhook_id: UUID, delivery_id: UUID) -> WebhookDelivery | None: ...


class Resolver(Protocol):
    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to now (empty if it does not)."""
        ...


@dataclass(frozen=True)
class WebhookDeps:
    outbox: WebhookOutbox


@dataclass(frozen=True)
class WebhookAdminDeps:
    store: WebhookStore
    resolver: Resolver
    allowed: frozenset[str]  # HELPDESK_WEBHOOK_ALLOWED_HOSTS


# ------------------------------------------------------------------ refusals


class NotAdmin(Refused):
    code = "forbidden"


class UnknownWebhook(Refused):
    code = "not_found"


class UrlRefused(Refused):
    code = "webhook_url_refused"


async def checked_target(url: str, resolver: Resolver, allowed: frozenset[str]) -> list[str]:
    """The addresses `url` may be reached at now (rule 2), or `UrlRefused`."""
    try:
        _, host, port = rules.host_of(url)
        addresses = [] if host in allowed else await resolver.addresses(host, port)
        rules.check_target(url, addresses, allowed)
    except rules.TargetRefused as refused:
        raise UrlRefused(
            f"This URL cannot receive webhooks: {refused}.",
            field_errors=[FieldError(field="url", message=str(refused))],
        ) from None
    return addresses


def _admin(actor: Actor) -> None:
    if Role.ADMIN not in actor.roles:
        raise NotAdmin("Only admins manage webhooks.")


# ------------------------------------------------------------------ commands


async def register(cmd: RegisterWebhook, deps: WebhookAdminDeps) -> WebhookCreated:
    _admin(cmd.actor)
    await checked_target(cmd.url, deps.resolver, deps.allowed)
    return await deps.store.create(cmd, rules.new_secret())


async def list_webhooks(cmd: ListWebhooks, deps: WebhookAdminDeps) -> WebhookList:
    _admin(cmd.actor)
    return WebhookList(items=await deps.store.all())


async def delete(cmd: DeleteWebhook, deps: WebhookAdminDeps) -> Empty:
    _admin(cmd.actor)
    if not await deps.store.delete(cmd.webhook_id):
        raise UnknownWebhook("No such webhook.")
    return Empty()


async def deliveries(cmd: ListWebhookDeliveries, deps: WebhookAdminDeps) -> WebhookDeliveries:
    _admin(cmd.actor)
    found = await deps.store.deliveries(cmd.webhook_id, cmd.limit)
    if found is None:
        raise UnknownWebhook("No such webhook.")
    return WebhookDeliveries(items=found)


async def resend(cmd: ResendWebhookDelivery, deps: WebhookAdminDeps) -> WebhookDelivery:
    _admin(cmd.actor)
    delivery = await deps.store.resend(cmd.webhook_id, cmd.delivery_id)
    if delivery is None:
        raise UnknownWebhook("No such delivery of this webhook.")
    return delivery


UseCases: TypeAlias = Mapping[
    type[Request[Any]], Callable[[Any, WebhookAdminDeps], Awaitable[BaseModel]]
]

WEBHOOK_COMMANDS: UseCases = {
    RegisterWebhook: register,
    ListWebhooks: list_webhooks,
    DeleteWebhook: delete,
    ListWebhookDeliveries: deliveries,
    ResendWebhookDelivery: resend,
}


# ------------------------------------------------------------------ events


async def on_submitted(event: TicketSubmitted, deps: WebhookDeps) -> None:
    await deps.outbox.record(rules.submitted(event))


async def on_message_added(event: TicketMessageAdded, deps: WebhookDeps) -> None:
    await deps.outbox.record(rules.message_added(event))


async def on_status_changed(event: TicketStatusChanged, deps: WebhookDeps) -> None:
    await deps.outbox.record(rules.status_changed(event))


async def on_priority_changed(event: TicketPriorityChanged, deps: WebhookDeps) -> None:
    await deps.outbox.record(rules.priority_changed(event))


async def on_assigned(event: TicketAssigned, deps: WebhookDeps) -> None:
    await deps.outbox.record(rules.assigned(event))


WEBHOOK_HANDLERS: EventHandlers[WebhookDeps] = {
    TicketSubmitted: on_submitted,
    TicketMessageAdded: on_message_added,
    TicketStatusChanged: on_status_changed,
    TicketPriorityChanged: on_priority_changed,
    TicketAssigned: on_assigned,
}

"""Webhooks, the rules (pure; docs/api.md, "Webhooks"):

1. A delivery is signed as Standard Webhooks does: HMAC-SHA256 with the
   endpoint's secret over `<webhook-id>.<webhook-timestamp>.<body>`, sent as
   `webhook-signature: v1,<base64>`.
2. A target is refused when it is not https, or when any address its host
   resolves to is private, loopback, link-local, multicast, reserved or
   unspecified — unless its host is allow-listed by name or address
   (HELPDESK_WEBHOOK_ALLOWED_HOSTS). The same check runs at registration and
   again before every attempt, on the addresses the attempt connects to.
3. A failed attempt is retried on a doubling back-off until 24 h after the
   delivery was recorded; then the delivery fails, and an endpoint whose last
   deliveries all failed that way is disabled (its admin is mailed).
4. The plain event types carry no personal data; `.personal` ones add the
   customer's words and contact. Internal notes are never delivered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from helpdesk.contracts.tickets import (
    Contact,
    TicketAssigned,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
    TicketSubmitted,
)
from helpdesk.contracts.webhooks import WebhookEventType

SECRET_PREFIX = "whsec_"  # noqa: S105 (the form of a secret, not one)
SIGNATURE_VERSION = "v1"


def new_secret() -> str:
    """`whsec_` + 32 random bytes in base64 (the Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header's value for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


# ------------------------------------------------------------------ targets


class TargetRefused(ValueError):
    """Why a URL may not receive webhooks (said to the admin; no secret in it)."""


def parse_allowed(hosts: Iterable[str]) -> frozenset[str]:
    """HELPDESK_WEBHOOK_ALLOWED_HOSTS: host names or addresses, compared without case."""
    return frozenset(h.lower().strip("[]") for h in hosts)


def host_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL, or TargetRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("only http(s) URLs with a host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not allowed")
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def check_target(url: str, addresses: Iterable[str], allowed: frozenset[str]) -> None:
    """Rule 2 for `url` whose host resolved to `addresses`; TargetRefused if not."""
    scheme, host, _ = host_of(url)
    found = list(addresses)
    if host in allowed:  # by the URL's own host: a name that resolves there is not enough
        return
    if scheme != "https":
        raise TargetRefused("only https URLs (or an allow-listed host)")
    if not found:
        raise TargetRefused(f"{host} does not resolve")
    for address in found:
        if not is_public(address):
            raise TargetRefused(f"{host} is a private, loopback or link-local address")


# ------------------------------------------------------------------ retries


def retry_delay(attempts: int, first: float, cap: float) -> float:
    """Seconds before attempt `attempts + 1` (after `attempts` failures): doubling."""
    return float(min(first * 2 ** max(attempts - 1, 0), cap))


# ------------------------------------------------------------------ payloads


def _contact(contact: Contact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {"user_id": str(contact.user_id), "name": contact.name, "email": contact.email}


def _ticket(event: Any) -> dict[str, Any]:
    return {"ticket_id": str(event.ticket_id), "number": event.number, "at": event.at.isoformat()}


def _due(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def submitted(event: TicketSubmitted) -> dict[WebhookEventType, dict[str, Any]]:
    plain = _ticket(event) | {
        "priority": event.priority.value,
        "category": event.category.value if event.category else None,
        "queue": event.queue,
        "first_response_due": _due(event.first_response_due),
        "resolution_due": _due(event.resolution_due),
    }
    personal = plain | {
        "subject": event.subject_line,
        "description": event.description,
        "requester": _contact(event.requester),
    }
    return {
        WebhookEventType.TICKET_SUBMITTED: plain,
        WebhookEventType.TICKET_SUBMITTED_PERSONAL: personal,
    }


def message_added(event: TicketMessageAdded) -> dict[WebhookEventType, dict[str, Any]]:
    if event.internal:
        return {}  # internal notes go to no webhook
    plain = _ticket(event) | {
        "message_id": str(event.message_id),
        "by_agent": event.by_agent,
        "status": event.status.value,
        "files": len(event.files),
    }
    personal = plain | {"body": event.body, "author": _contact(event.author)}
    return {
        WebhookEventType.TICKET_MESSAGE_ADDED: plain,
        WebhookEventType.TICKET_MESSAGE_ADDED_PERSONAL: personal,
    }


def status_changed(event: TicketStatusChanged) -> dict[WebhookEventType, dict[str, Any]]:
    data = _ticket(event) | {
        "from_status": event.from_status.value,
        "to_status": event.to_status.value,
        "by_agent": event.by_agent,
    }
    return {WebhookEventType.TICKET_STATUS_CHANGED: data}


def priority_changed(event: TicketPriorityChanged) -> dict[WebhookEventType, dict[str, Any]]:
    data = _ticket(event) | {
        "from_priority": event.from_priority.value,
        "priority": event.priority.value,
        "queue": event.queue,
    }
    return {WebhookEventType.TICKET_PRIORITY_CHANGED: data}


def assigned(event: TicketAssigned) -> dict[WebhookEventType, dict[str, Any]]:
    data = _ticket(event) | {
        "assignee_id": str(event.assignee.user_id),
        "status": event.status.value,
        "queue": event.queue,
    }
    return {WebhookEventType.TICKET_ASSIGNED: data}

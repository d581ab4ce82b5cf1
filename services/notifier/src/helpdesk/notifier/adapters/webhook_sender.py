"""Sends the recorded webhook deliveries after commit (the mail queue's pattern):
claim due rows with a lease, sign, POST, settle.

Each attempt resolves the endpoint's host again and checks every address
(domain/webhooks.py, rule 2) before connecting, and then connects to the
address it checked (the URL's host goes in `Host` and TLS SNI), so a DNS answer
that changes between the check and the connection cannot point it inside.
Redirects are not followed. The secret and the body are never logged.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import httpx

from helpdesk.notifier.adapters.webhook_store import ClaimedDelivery, PostgresWebhooks
from helpdesk.notifier.domain import webhooks as rules
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import repeat

log = get_logger(__name__)

BATCH = 16
TIMEOUT_SECONDS = 10.0  # per attempt: connect, send, the answer's status line
POLL_SECONDS = 0.5  # how often due deliveries are looked for
RESOLVE_SECONDS = 2.0  # a host that does not resolve by then is refused (a command waits)
USER_AGENT = "IPtech-Helpdesk-Webhooks/1"

# Records the mails that tell of a disabled endpoint, on the disabling's connection.
Alert = Callable[[Connection, dict[str, Any]], Awaitable[None]]


class DnsResolver:
    async def addresses(self, host: str, port: int) -> list[str]:
        lookup = asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        try:
            infos = await asyncio.wait_for(lookup, RESOLVE_SECONDS)
        except (OSError, UnicodeError, TimeoutError):
            return []
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def pinned(url: str, address: str | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(URL to connect to, extra headers, httpx extensions): the checked address in
    place of the host, the host kept for `Host` and SNI."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = f"{host}:{parts.port}" if parts.port else host
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions


class WebhookSender:
    def __init__(
        self,
        store: PostgresWebhooks,
        settings: Settings,
        resolver: DnsResolver,
        alert: Alert,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.resolver = resolver
        self.alert = alert
        self.allowed = rules.parse_allowed(settings.webhook_allowed_hosts)
        self.client = client or httpx.AsyncClient(
            timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False
        )

    async def run(self) -> NoReturn:
        await repeat(self.send_due, pause=self._pause, failed="webhook deliveries not sent")

    async def _pause(self) -> None:
        await asyncio.sleep(POLL_SECONDS)

    async def send_due(self) -> int:
        claimed = await self.store.claim(BATCH, TIMEOUT_SECONDS + 30)
        await asyncio.gather(*(self.attempt(delivery) for delivery in claimed))
        return len(claimed)

    async def attempt(self, delivery: ClaimedDelivery) -> None:
        status, error = await self.post(delivery)
        if status is not None and 200 <= status < 300:
            await self.store.delivered(delivery.delivery_id, status)
            log.info("webhook delivered", delivery_id=str(delivery.delivery_id), status=status)
            return
        log.warning(
            "webhook attempt failed",
            delivery_id=str(delivery.delivery_id),
            attempt=delivery.attempts,
            error=error,
        )
        if delivery.expired:
            disabled = await self.store.failed(delivery.delivery_id, status, error, self.alert)
            if disabled is not None:
                log.warning("webhook disabled", webhook_id=str(disabled["webhook_id"]))
            return
        delay = rules.retry_delay(
            delivery.attempts,
            self.settings.webhook_retry_first_seconds,
            self.settings.webhook_retry_max_seconds,
        )
        await self.store.retry(delivery.delivery_id, delay, status, error)

    async def post(self, delivery: ClaimedDelivery) -> tuple[int | None, str]:
        """(HTTP status or None, what went wrong) of one signed attempt."""
        try:
            _, host, port = rules.host_of(delivery.url)
            addresses = [] if host in self.allowed else await self.resolver.addresses(host, port)
            rules.check_target(delivery.url, addresses, self.allowed)
        except rules.TargetRefused as refused:
            return None, f"target refused: {refused}"
        timestamp = int(time.time())
        delivery_id = str(delivery.delivery_id)
        url, host_header, extensions = pinned(delivery.url, addresses[0] if addresses else None)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": rules.signature(
                delivery.secret, delivery_id, timestamp, delivery.body
            ),
            **host_header,
        }
        try:
            request = self.client.build_request(
                "POST", url, content=delivery.body, headers=headers, extensions=extensions
            )
            response = await self.client.send(request, stream=True)
            await response.aclose()  # the receiver's body is not read
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        return response.status_code, f"HTTP {response.status_code}"


def alert_mail_key() -> uuid.UUID:
    """The mail queue's key of one "webhook disabled" alert (each disabling is new)."""
    return uuid.uuid4()

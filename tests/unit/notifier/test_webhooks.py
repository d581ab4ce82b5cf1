"""Webhook rules (domain/webhooks.py) and the admin use cases against fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import Contact, SlaClock, SlaSchedule, TicketSubmitted
from helpdesk.contracts.webhooks import (
    RegisterWebhook,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
    WebhookEventType,
)
from helpdesk.notifier.adapters.webhook_sender import WebhookSender, pinned
from helpdesk.notifier.adapters.webhook_store import ClaimedDelivery, PostgresWebhooks
from helpdesk.notifier.domain import webhooks as rules
from helpdesk.notifier.handlers.webhooks import (
    WEBHOOK_COMMANDS,
    WEBHOOK_HANDLERS,
    UrlRefused,
    WebhookAdminDeps,
    WebhookDeps,
)
from helpdesk.servicekit.events import on_events
from tests.api.verifier import verify
from tests.unit.notifier.fakes import settings

ALLOWED = rules.parse_allowed(["127.0.0.1", "Hooks.Internal.Example"])


def test_a_signature_verifies_with_the_documented_verifier_and_not_after_a_change() -> None:
    secret = rules.new_secret()
    body = b'{"type":"ticket.submitted"}'
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1796600000",
        "webhook-signature": rules.signature(secret, "msg_1", 1796600000, body),
    }
    assert headers["webhook-signature"].startswith("v1,")
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(rules.new_secret(), headers, body)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://169.254.169.254/latest/meta-data/", ["169.254.169.254"]),
        ("https://169.254.169.254/", ["169.254.169.254"]),
        ("https://intranet.example/hook", ["10.0.0.5"]),
        ("https://loop.example/hook", ["127.0.0.1"]),
        ("https://v6.example/hook", ["::1"]),
        ("https://mapped.example/hook", ["::ffff:192.168.1.1"]),
        ("https://public.example/hook", ["93.184.215.14", "192.168.0.1"]),  # any one
        ("http://public.example/hook", ["93.184.215.14"]),  # plain http
        ("https://user:pw@public.example/hook", ["93.184.215.14"]),
        ("ftp://public.example/hook", ["93.184.215.14"]),
        ("https://nowhere.example/hook", []),
    ],
)
def test_private_loopback_link_local_and_plain_http_targets_are_refused(
    url: str, addresses: list[str]
) -> None:
    with pytest.raises(rules.TargetRefused):
        rules.check_target(url, addresses, ALLOWED)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("https://public.example/hook", ["93.184.215.14"]),
        ("http://127.0.0.1:8000/hook", []),  # allow-listed by address
        ("http://hooks.internal.example/hook", ["10.0.0.5"]),  # allow-listed by name
    ],
)
def test_public_https_and_allow_listed_targets_are_taken(url: str, addresses: list[str]) -> None:
    rules.check_target(url, addresses, ALLOWED)


def test_retries_double_up_to_the_cap() -> None:
    assert [rules.retry_delay(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def submitted() -> TicketSubmitted:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    return TicketSubmitted(
        ticket_id=uuid4(),
        number="HD-2026-000007",
        at=now,
        requester=Contact(user_id=uuid4(), name="Μαρία", email="maria@example.gr"),
        subject_line="Ο εκτυπωτής",
        description="Δεν τυπώνει.",
        priority=Priority.HIGH,
        queue="service-desk",
        clock=SlaClock.BUSINESS_HOURS,
        page=False,
        first_response_due=now,
        resolution_due=now,
        sla=SlaSchedule(),
    )


def test_plain_payloads_carry_no_personal_data_and_personal_ones_do() -> None:
    payloads = rules.submitted(submitted())
    plain = str(payloads[WebhookEventType.TICKET_SUBMITTED])
    assert "maria@example.gr" not in plain
    assert "εκτυπωτής" not in plain
    personal = payloads[WebhookEventType.TICKET_SUBMITTED_PERSONAL]
    assert personal["requester"]["email"] == "maria@example.gr"
    assert personal["description"] == "Δεν τυπώνει."


class FakeOutbox:
    def __init__(self) -> None:
        self.recorded: list[dict[WebhookEventType, dict[str, Any]]] = []

    async def record(self, payloads: dict[WebhookEventType, dict[str, Any]]) -> int:
        self.recorded.append(payloads)
        return len(payloads)


async def test_a_submitted_ticket_is_recorded_for_the_endpoints() -> None:
    outbox = FakeOutbox()
    consumer = on_events("test", WEBHOOK_HANDLERS, lambda _: WebhookDeps(outbox=outbox))
    await consumer.handler(None, EventEnvelope.wrap(submitted(), correlation_id="c"))  # type: ignore[arg-type]
    assert set(outbox.recorded[0]) == {
        WebhookEventType.TICKET_SUBMITTED,
        WebhookEventType.TICKET_SUBMITTED_PERSONAL,
    }


class FakeStore:
    def __init__(self) -> None:
        self.created: list[RegisterWebhook] = []

    async def create(self, command: RegisterWebhook, secret: str) -> WebhookCreated:
        self.created.append(command)
        return WebhookCreated(
            webhook_id=uuid4(),
            url=command.url,
            event_types=command.event_types,
            description="",
            enabled=True,
            created_at=datetime.now(UTC),
            secret=secret,
        )

    async def all(self) -> list[Webhook]:
        return []

    async def delete(self, webhook_id: UUID) -> bool:
        return False

    async def deliveries(self, webhook_id: UUID, limit: int) -> list[WebhookDelivery] | None:
        return None

    async def resend(self, webhook_id: UUID, delivery_id: UUID) -> WebhookDelivery | None:
        return None


class FakeResolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def addresses(self, host: str, port: int) -> list[str]:
        return self.answers.get(host, [])


def admin() -> Actor:
    return Actor(user_id=uuid4(), roles=[Role.ADMIN], session_id="s")


async def test_a_name_that_resolves_to_the_metadata_address_is_refused_at_registration() -> None:
    store = FakeStore()
    deps = WebhookAdminDeps(
        store=store,
        resolver=FakeResolver({"metadata.example": ["169.254.169.254"]}),
        allowed=ALLOWED,
    )
    command = RegisterWebhook(
        actor=admin(), url="https://metadata.example/hook", event_types=["ticket.submitted"]
    )
    with pytest.raises(UrlRefused) as refused:
        await WEBHOOK_COMMANDS[RegisterWebhook](command, deps)
    assert refused.value.error.code == "webhook_url_refused"
    assert refused.value.error.field_errors[0].field == "url"
    assert store.created == []


async def test_an_admin_registers_and_gets_the_secret_once() -> None:
    store = FakeStore()
    deps = WebhookAdminDeps(
        store=store, resolver=FakeResolver({"hooks.example": ["93.184.215.14"]}), allowed=ALLOWED
    )
    command = RegisterWebhook(
        actor=admin(), url="https://hooks.example/in", event_types=["ticket.submitted"]
    )
    created = await WEBHOOK_COMMANDS[RegisterWebhook](command, deps)
    assert isinstance(created, WebhookCreated)
    assert created.secret.startswith("whsec_")


def test_an_attempt_connects_to_the_checked_address_and_keeps_the_host_for_tls() -> None:
    url, headers, extensions = pinned("https://hooks.example:8443/in?x=1", "93.184.215.14")
    assert url == "https://93.184.215.14:8443/in?x=1"
    assert headers == {"Host": "hooks.example:8443"}
    assert extensions == {"sni_hostname": "hooks.example"}
    assert pinned("https://v6.example/in", "2606:2800::1")[0] == "https://[2606:2800::1]/in"
    assert pinned("http://127.0.0.1:9000/in", None) == ("http://127.0.0.1:9000/in", {}, {})


async def test_every_attempt_checks_the_target_again_on_a_fresh_dns_answer() -> None:
    """A name that was public at registration and now resolves to the metadata address
    (DNS rebinding) gets no request; while public, the request goes to the address
    that was checked, signed."""
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    resolver = FakeResolver({"hooks.example": ["169.254.169.254"]})
    sender = WebhookSender(
        PostgresWebhooks(pool=None),  # type: ignore[arg-type]  # post() needs no store
        settings(),
        resolver,  # type: ignore[arg-type]
        alert=lambda _conn, _disabled: None,  # type: ignore[arg-type,return-value]
        client=httpx.AsyncClient(transport=httpx.MockTransport(receive)),
    )
    delivery = ClaimedDelivery(
        delivery_id=uuid4(),
        webhook_id=uuid4(),
        url="https://hooks.example/in",
        secret=rules.new_secret(),
        body=b'{"type":"ticket.submitted"}',
        attempts=1,
        expired=False,
    )
    status, error = await sender.post(delivery)
    assert (status, sent) == (None, [])
    assert error.startswith("target refused")

    resolver.answers["hooks.example"] = ["93.184.215.14"]
    assert await sender.post(delivery) == (204, "HTTP 204")
    (request,) = sent
    assert request.url.host == "93.184.215.14"
    assert request.headers["Host"] == "hooks.example"
    assert verify(delivery.secret, dict(request.headers), request.content)

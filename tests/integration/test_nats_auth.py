"""NATS authentication and authorization (DESIGN.md §3a, docs/security.md),
against the real nats-server the tests run with the rendered authorization block.

Every refusal is checked from both sides: the server reports a permissions
violation to the offending client, and a watcher allowed to see the subject
sees nothing arrive. Each refused case has an allowed twin, so a harness that
saw nothing for an unrelated reason would fail the twin."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.subscription import Subscription

from helpdesk.devstack.servers import NatsServer
from helpdesk.servicekit import nats_auth
from helpdesk.servicekit.runtime import ensure_stream
from tests.servers import Servers

pytestmark = pytest.mark.integration


class Violations:
    """The errors the server reports to one client (error_cb)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def report(self, exc: Exception) -> None:
        self.messages.append(str(exc))

    async def wait_for(self, kind: str, subject: str, timeout: float = 5.0) -> None:
        # nats-py reports the server's error in lower case.
        expected = f'permissions violation for {kind} to "{subject}"'.lower()
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if any(expected in m.lower() for m in self.messages):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {expected!r}; got {self.messages}")


@contextlib.asynccontextmanager
async def connected_as(
    servers: Servers, identity: str, violations: Violations | None = None
) -> AsyncIterator[NatsClient]:
    client = await nats.connect(
        servers.nats_url,
        allow_reconnect=False,
        error_cb=(violations or Violations()).report,
        **servers.nats_options(identity),
    )
    try:
        yield client
    finally:
        await client.close()


async def refused_connection(url: str, **options: object) -> str:
    with pytest.raises(nats.errors.Error) as refused:
        await nats.connect(
            url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3, **options
        )
    return str(refused.value)


# ------------------------------------------------------------------ authentication


async def test_an_anonymous_connection_is_refused(servers: Servers) -> None:
    assert "Authorization Violation" in await refused_connection(servers.nats_url)


async def test_a_key_the_server_does_not_know_is_refused(servers: Servers) -> None:
    stranger = nats_auth.new_seed().decode()
    error = await refused_connection(servers.nats_url, nkeys_seed_str=stranger)
    assert "Authorization Violation" in error


async def test_every_identity_of_the_system_may_connect(servers: Servers) -> None:
    for identity in nats_auth.IDENTITIES:
        async with connected_as(servers, identity) as client:
            assert client.is_connected, identity


# ------------------------------------------------------------------ publishing

# (identity, subject it must not publish on): forged commands, events of another
# producer, operator commands from the internet-facing gateway.
REFUSED_PUBLISH = [
    ("notifier", "tickets.cmd.submit"),
    ("notifier", "identity.events.x"),
    ("notifier", "identity.events.user.user_registered"),
    ("notifier", "tickets.events.ticket.submitted.critical"),
    ("tickets", "identity.events.user.roles_changed"),
    ("tickets", "identity.cmd.grant_role"),
    ("identity", "tickets.cmd.submit"),
    ("identity", "tickets.events.ticket.assigned"),
    ("gateway", "tickets.admin.dead_letters.list"),
    ("gateway", "identity.admin.projections.rebuild"),
    ("gateway", "notifier.admin.dead_letters.redrive"),
    ("gateway", "identity.cmd.create_user"),
    ("gateway", "identity.cmd.grant_role"),
    ("gateway", "identity.events.user.user_activated"),
    ("operator", "tickets.cmd.submit"),
    ("operator", "identity.cmd.login"),
    # Mail requests carry a sender's address, no token: only the mailgate sends them.
    ("gateway", "tickets.mail.submit"),
    ("gateway", "tickets.mail.attach"),
    ("notifier", "tickets.mail.reply"),
    ("operator", "tickets.mail.submit"),
    ("identity", "tickets.mail.submit"),
    ("mailgate", "tickets.cmd.submit"),
    ("mailgate", "tickets.cmd.add_message"),
    ("mailgate", "identity.cmd.login"),
    ("mailgate", "tickets.events.ticket.submitted.normal"),
    ("mailgate", "tickets.admin.dead_letters.list"),
]
ALLOWED_PUBLISH = [
    ("gateway", "tickets.cmd.submit"),
    ("gateway", "identity.cmd.login"),
    ("gateway", "tickets.query.list"),
    ("operator", "tickets.admin.dead_letters.list"),
    ("operator", "identity.cmd.create_user"),
    ("operator", "identity.cmd.grant_role"),
    ("mailgate", "tickets.mail.submit"),
    ("mailgate", "tickets.mail.reply"),
    ("mailgate", "tickets.mail.attach"),
]


async def _arrived(sub: Subscription, violations: Violations, refused: str, subject: str) -> bool:
    """Whether a message reaches `sub`; if none does, the server must have told
    the client why (a `refused` permissions violation on `subject`)."""
    try:
        await sub.next_msg(timeout=0.5)
    except nats.errors.TimeoutError:
        await violations.wait_for(refused, subject)
        return False
    assert not violations.messages, violations.messages
    return True


async def _published(servers: Servers, nc: NatsClient, identity: str, subject: str) -> bool:
    """Whether a message `identity` publishes on `subject` reaches a watcher; a
    refusal must also be reported to the publisher."""
    watcher = await nc.subscribe(subject)
    await nc.flush()
    violations = Violations()
    try:
        async with connected_as(servers, identity, violations) as client:
            await client.publish(subject, b"{}")
            await client.flush()
            return await _arrived(watcher, violations, "publish", subject)
    finally:
        await watcher.unsubscribe()


@pytest.mark.parametrize(("identity", "subject"), REFUSED_PUBLISH)
async def test_an_identity_cannot_publish_outside_its_subjects(
    servers: Servers, nc: NatsClient, identity: str, subject: str
) -> None:
    assert not await _published(servers, nc, identity, subject)


@pytest.mark.parametrize(("identity", "subject"), ALLOWED_PUBLISH)
async def test_an_identity_may_publish_its_own_subjects(
    servers: Servers, nc: NatsClient, identity: str, subject: str
) -> None:
    assert await _published(servers, nc, identity, subject)


# ------------------------------------------------------------------ subscribing

# (identity, subject, queue group, subject a message is sent on)
REFUSED_SUBSCRIBE = [
    ("tickets", "identity.cmd.>", "", "identity.cmd.login"),
    ("tickets", "identity.cmd.login", "identity", "identity.cmd.login"),
    ("notifier", "identity.cmd.register", "notifier", "identity.cmd.register"),
    ("notifier", "tickets.query.list", "", "tickets.query.list"),
    # Commands only in the service's own queue group: no silent extra listener.
    ("tickets", "tickets.cmd.submit", "", "tickets.cmd.submit"),
    ("tickets", "tickets.cmd.submit", "spy", "tickets.cmd.submit"),
    # Events only through JetStream consumers, never as a core subscription.
    ("notifier", "identity.events.>", "", "identity.events.probe"),
    # Nobody reads another identity's replies (they carry access tokens).
    ("gateway", "_INBOX.>", "", "_INBOX.identity.probe"),
    ("notifier", "_INBOX.gateway.>", "", "_INBOX.gateway.probe"),
    ("tickets", "_INBOX.>", "", "_INBOX.gateway.probe"),
    ("gateway", "tickets.cmd.submit", "tickets", "tickets.cmd.submit"),
    ("operator", "identity.admin.>", "identity", "identity.admin.projections.rebuild"),
    # Only tickets serves the mail requests, and only in its queue group.
    ("mailgate", "tickets.mail.*", "tickets", "tickets.mail.submit"),
    ("tickets", "tickets.mail.*", "", "tickets.mail.submit"),
]
ALLOWED_SUBSCRIBE = [
    ("tickets", "tickets.cmd.*", "tickets", "tickets.cmd.submit"),
    ("identity", "identity.cmd.*", "identity", "identity.cmd.login"),
    ("notifier", "notifier.admin.>", "notifier", "notifier.admin.dead_letters.list"),
    ("gateway", "_INBOX.gateway.>", "", "_INBOX.gateway.probe"),
    ("tickets", "tickets.mail.*", "tickets", "tickets.mail.submit"),
    ("mailgate", "mailgate.admin.>", "mailgate", "mailgate.admin.dead_letters.list"),
]


async def _delivered(
    servers: Servers, nc: NatsClient, identity: str, subject: str, queue: str, send_on: str
) -> bool:
    violations = Violations()
    async with connected_as(servers, identity, violations) as client:
        sub = await client.subscribe(subject, queue=queue)
        await client.flush()
        await asyncio.sleep(0.05)  # a refusal arrives asynchronously
        await nc.publish(send_on, b"{}")
        await nc.flush()
        return await _arrived(sub, violations, "subscription", subject)


@pytest.mark.parametrize(("identity", "subject", "queue", "send_on"), REFUSED_SUBSCRIBE)
async def test_an_identity_cannot_subscribe_outside_its_subjects(
    servers: Servers, nc: NatsClient, identity: str, subject: str, queue: str, send_on: str
) -> None:
    assert not await _delivered(servers, nc, identity, subject, queue, send_on)


@pytest.mark.parametrize(("identity", "subject", "queue", "send_on"), ALLOWED_SUBSCRIBE)
async def test_an_identity_may_subscribe_to_its_own_subjects(
    servers: Servers, nc: NatsClient, identity: str, subject: str, queue: str, send_on: str
) -> None:
    assert await _delivered(servers, nc, identity, subject, queue, send_on)


# ------------------------------------------------------------------ JetStream


async def test_no_service_may_delete_or_purge_a_stream(servers: Servers, nc: NatsClient) -> None:
    js = nc.jetstream()
    for stream in ("IDENTITY", "TICKETS"):
        await ensure_stream(js, stream, 1)
    for identity in ("identity", "tickets", "notifier", "gateway"):
        for api in ("STREAM.DELETE.IDENTITY", "STREAM.PURGE.TICKETS"):
            violations = Violations()
            async with connected_as(servers, identity, violations) as client:
                with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
                    await client.request(f"$JS.API.{api}", b"", timeout=0.5)
                await violations.wait_for("publish", f"$JS.API.{api}")
    assert {s.config.name for s in await js.streams_info()} >= {"IDENTITY", "TICKETS"}


async def test_a_service_declares_the_streams_and_the_gateway_cannot(servers: Servers) -> None:
    for identity in ("identity", "tickets", "notifier"):
        async with connected_as(servers, identity) as client:
            await ensure_stream(client.jetstream(), "TICKETS", 1)
    violations = Violations()
    async with connected_as(servers, "gateway", violations) as client:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await client.request("$JS.API.STREAM.CREATE.TICKETS", b"{}", timeout=0.5)
        await violations.wait_for("publish", "$JS.API.STREAM.CREATE.TICKETS")


async def test_tickets_may_consume_identity_and_its_own_events_identity_neither(
    servers: Servers, nc: NatsClient
) -> None:
    """tickets consumes IDENTITY (users) and TICKETS (automatic assignment);
    identity consumes no stream at all."""
    js = nc.jetstream()
    await ensure_stream(js, "IDENTITY", 1)
    await ensure_stream(js, "TICKETS", 1)
    async with connected_as(servers, "tickets") as client:
        for stream, subject in (
            ("IDENTITY", "identity.events.user.>"),
            ("TICKETS", "tickets.events.>"),
        ):
            sub = await client.jetstream().pull_subscribe(
                subject, durable="auth-probe", stream=stream
            )
            await sub.unsubscribe()
            await js.delete_consumer(stream, "auth-probe")
    violations = Violations()
    async with connected_as(servers, "identity", violations) as client:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await client.jetstream().pull_subscribe(
                "tickets.events.>", durable="auth-probe", stream="TICKETS"
            )


# ------------------------------------------------------------------ rotation


async def test_during_a_rotation_both_keys_work_and_a_retired_key_is_refused(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    config = tmp_path / "auth.conf"
    old = nats_auth.ensure_seeds(keys)["gateway"].read_bytes()

    def render() -> None:
        config.write_text(nats_auth.render_authorization(nats_auth.users_in(keys)))

    async def gateway_may_connect(server: NatsServer, seed: bytes) -> bool:
        try:
            client = await nats.connect(
                server.url,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                nkeys_seed_str=seed.decode(),
            )
        except nats.errors.Error:
            return False
        await client.close()
        return True

    nats_auth.rotate(keys, "gateway")
    new = nats_auth.seed_path(keys, "gateway").read_bytes()
    assert new != old
    render()
    server = NatsServer(tmp_path / "js", config_file=config).start()
    try:
        assert await gateway_may_connect(server, old)
        assert await gateway_may_connect(server, new)
    finally:
        server.stop()

    assert nats_auth.retire(keys, "gateway")
    render()
    server = NatsServer(tmp_path / "js", config_file=config).start()
    try:
        assert not await gateway_may_connect(server, old)
        assert await gateway_may_connect(server, new)
    finally:
        server.stop()

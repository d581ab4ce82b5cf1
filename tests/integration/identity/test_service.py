"""The identity service wired to a real NATS: commands over request-reply in a
queue group, typed error replies for bad input, events on the IDENTITY stream
through the outbox relay."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
import pyotp
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError

from helpdesk.contracts import identity as contract
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.subjects import AUTHORIZATION_HEADER, MSG_ID_HEADER
from helpdesk.identity.bootstrap import build
from helpdesk.servicekit.access_tokens import public_key_of, verifier
from helpdesk.servicekit.personal_data import opened_envelope
from helpdesk.servicekit.relay import OutboxRelay
from helpdesk.servicekit.runtime import ServiceContext, broker_options, ensure_stream
from tests.eventually import eventually
from tests.integration.identity.conftest import identity_pool, identity_settings
from tests.servers import Servers
from tests.tokens import unseal

pytestmark = pytest.mark.integration


class RunningIdentity:
    def __init__(self, prefix: str, nc: NatsClient, pool: asyncpg.Pool) -> None:
        self.prefix, self.nc, self.pool = prefix, nc, pool

    async def ask(
        self, kind: str, name: str, body: dict[str, Any], *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {AUTHORIZATION_HEADER: f"Bearer {token}"} if token else None
        reply = await self.nc.request(
            f"{self.prefix}.{kind}.{name}", json.dumps(body).encode(), timeout=10, headers=headers
        )
        result: dict[str, Any] = json.loads(reply.data)
        return result


@pytest.fixture
async def running(servers: Servers, nc: NatsClient) -> AsyncIterator[RunningIdentity]:
    # A service name of its own, so no other identity on this NATS answers our requests.
    name = f"identity_{uuid.uuid4().hex[:8]}"
    schema, pool = await identity_pool(servers)
    settings = identity_settings(servers)
    broker = NatsBroker(servers.nats_url, logger=None, **broker_options(servers.nats_options()))
    client = await broker.connect()
    js = client.jetstream()
    await ensure_stream(js, "IDENTITY", 1)
    ctx = ServiceContext(
        name=name,
        settings=settings,
        pool=pool,
        broker=broker,
        nats=client,
        js=js,
        verify_token=verifier(public_key_of(settings.jwt_private_key.get_secret_value())),
    )
    build(ctx)
    await broker.start()
    await client.flush()  # the subscriptions are known to the server before we ask

    async def answering() -> bool:
        # A clean run once got "no responders" for its first request after the flush.
        try:
            await nc.request(f"{contract.SERVICE}.cmd.register", b"{}", timeout=2)
        except NoRespondersError:
            return False
        return True  # an empty registration is a validation error: nothing is kept

    await eventually(answering, what="identity answering its commands")
    relay = asyncio.create_task(
        OutboxRelay(servers.database_url, schema, js, poll_interval=0.1).run()
    )
    yield RunningIdentity(contract.SERVICE, nc, pool)
    relay.cancel()
    await asyncio.gather(relay, return_exceptions=True)
    await broker.stop()
    await pool.close()


async def test_bad_input_is_a_typed_validation_error(running: RunningIdentity) -> None:
    reply = await running.ask("cmd", "register", {"name": "", "email": "not an address"})
    assert reply["ok"] is False
    assert reply["error"]["code"] == "validation_error"
    fields = {e["field"] for e in reply["error"]["field_errors"]}
    assert {"name", "email", "username", "password"} <= fields


async def test_register_over_nats_publishes_user_registered_once(
    running: RunningIdentity, nc: NatsClient
) -> None:
    username = f"nats_{uuid.uuid4().hex[:6]}"
    js = nc.jetstream()
    sub = await js.subscribe("identity.events.user.user_registered", ordered_consumer=True)
    reply = await running.ask(
        "cmd",
        "register",
        {
            "name": "Nikos",
            "username": username,
            "email": f"{username}@example.gr",
            "password": "a perfectly fine passphrase",
            "locale": "en",
        },
    )
    assert reply["ok"], reply
    assert reply["result"]["message"] == contract.REGISTERED_MESSAGE["en"]
    while True:
        msg = await sub.next_msg(timeout=10)
        # The username travels sealed (issue 30): open it to find ours.
        async with running.pool.acquire() as conn:
            envelope = await opened_envelope(conn, EventEnvelope.model_validate_json(msg.data))
        if envelope.data["username"] == username:
            break
    assert username.encode() not in msg.data
    assert msg.headers is not None
    assert msg.headers[MSG_ID_HEADER] == str(envelope.event_id)
    assert envelope.producer == "identity"
    # Sealed for the notifier: identity publishes no raw token.
    assert "activation_token" not in envelope.data
    assert unseal(envelope.data["sealed_activation_token"])
    await sub.unsubscribe()
    # A row that held a raw token is gone from the outbox once published.
    for _ in range(50):
        if not await running.pool.fetchval("SELECT count(*) FROM outbox"):
            break
        await asyncio.sleep(0.1)
    assert await running.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_login_and_profile_over_nats(running: RunningIdentity) -> None:
    username = f"admin_{uuid.uuid4().hex[:6]}"
    created = await running.ask(
        "cmd",
        "create_user",
        {
            "name": "Admin",
            "username": username,
            "email": f"{username}@example.org",
            "password": "an admin passphrase",
            "roles": ["admin"],
            "activated": True,
        },
    )
    assert created["ok"], created
    granted = await running.ask("cmd", "grant_role", {"username": username, "role": "agent"})
    assert granted["result"]["roles"] == ["admin", "agent"]
    session = await running.ask(
        "cmd",
        "login",
        {
            "username": username,
            "password": "an admin passphrase",
            "client_address": "127.0.0.1",
        },
    )
    assert session["ok"], session
    # An admin's password alone opens nothing: enrol TOTP with the challenge first.
    assert session["result"]["status"] == "mfa_enrolment_required"
    challenge = session["result"]["challenge_id"]
    enrolment = await running.ask("cmd", "enrol_totp_at_sign_in", {"challenge_id": challenge})
    enrolled = await running.ask(
        "cmd",
        "confirm_totp_at_sign_in",
        {
            "challenge_id": challenge,
            "enrolment_token": enrolment["result"]["enrolment_token"],
            "code": pyotp.TOTP(enrolment["result"]["secret"]).now(),
        },
    )
    assert len(enrolled["result"]["recovery_codes"]) == 10, enrolled
    token = enrolled["result"]["tokens"]["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    actor = {"user_id": claims["sub"], "roles": claims["roles"], "session_id": claims["sid"]}
    me = await running.ask("query", "me", {"actor": actor}, token=token)
    assert me["result"]["username"] == username
    assert me["result"]["roles"] == ["admin", "agent"]

"""The kit's one handler shape over a real NATS: every way a handler can end is a
typed reply on the subject its contract names, never a timeout."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import asyncpg
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel, Field

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.messages import Command
from helpdesk.contracts.replies import Refused
from helpdesk.devstack.keys import generate_keypair
from helpdesk.servicekit.access_tokens import verifier
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.handlers import bind, retry_on_conflict, router
from helpdesk.servicekit.runtime import broker_options
from tests.servers import Servers
from tests.tokens import headers_for, public_key

pytestmark = pytest.mark.integration


class Echoed(BaseModel):
    text: str


class Echo(Command[Echoed]):
    verb: ClassVar[str] = "echo"

    text: str = Field(min_length=1, max_length=5)
    outcome: str = "ok"


class Deps:
    def __init__(self) -> None:
        self.conflicts = 0


async def echo(command: Echo, deps: Deps) -> Echoed:
    if command.outcome == "refuse":
        raise Refused("Not today.", code="forbidden")
    if command.outcome == "database down":
        raise asyncpg.CannotConnectNowError("the database system is starting up")
    if command.outcome == "bug":
        raise KeyError("secret-value-never-logged")
    if command.outcome == "conflict-once":

        async def attempt() -> Echoed:
            deps.conflicts += 1
            if deps.conflicts == 1:
                raise ConcurrencyError("echo", 0)
            return Echoed(text=command.text)

        return await retry_on_conflict(attempt)
    return Echoed(text=command.text)


@pytest.fixture
async def service(servers: Servers) -> AsyncIterator[str]:
    name = f"kit{uuid.uuid4().hex[:8]}"
    broker = NatsBroker(servers.nats_url, logger=None, **broker_options(servers.nats_options()))
    broker.include_router(router(name, bind(Deps(), {Echo: echo})))
    await broker.start()
    yield name
    await broker.stop()


async def ask(nc: NatsClient, service: str, body: bytes) -> dict[str, Any]:
    msg = await nc.request(Echo.nats_subject(service), body, timeout=5)
    reply: dict[str, Any] = json.loads(msg.data)
    return reply


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


async def test_the_result_comes_back_typed(service: str, nc: NatsClient) -> None:
    reply = await ask(nc, service, body(text="hi"))
    assert reply == {"ok": True, "result": {"text": "hi"}, "error": None}


async def test_bad_input_is_a_validation_error_per_field(service: str, nc: NatsClient) -> None:
    reply = await ask(nc, service, body(text="far too long", extra=1))
    assert reply["ok"] is False
    assert reply["error"]["code"] == "validation_error"
    fields = {e["field"]: e["message"] for e in reply["error"]["field_errors"]}
    assert set(fields) == {"text", "extra"}
    assert "at most 5" in fields["text"]


async def test_a_body_that_is_not_json_is_a_validation_error(service: str, nc: NatsClient) -> None:
    reply = await ask(nc, service, b"\x00not json")
    assert reply["error"]["code"] == "validation_error"


async def test_a_refusal_keeps_its_code(service: str, nc: NatsClient) -> None:
    reply = await ask(nc, service, body(text="hi", outcome="refuse"))
    assert reply["error"] == {
        "code": "forbidden",
        "message": "Not today.",
        "field_errors": [],
        "retry_after": None,
    }


async def test_a_dependency_outage_is_unavailable_with_retry_after(
    service: str, nc: NatsClient
) -> None:
    reply = await ask(nc, service, body(text="hi", outcome="database down"))
    assert reply["error"]["code"] == "unavailable"
    assert reply["error"]["retry_after"] == 2


async def test_a_bug_is_internal_and_does_not_echo_the_exception(
    service: str, nc: NatsClient
) -> None:
    reply = await ask(nc, service, body(text="hi", outcome="bug"))
    assert reply["error"]["code"] == "internal"
    assert "secret-value" not in json.dumps(reply)


async def test_a_concurrency_conflict_is_retried(service: str, nc: NatsClient) -> None:
    reply = await ask(nc, service, body(text="hi", outcome="conflict-once"))
    assert reply["result"] == {"text": "hi"}


class WhoAmI(Command[Echoed]):
    verb: ClassVar[str] = "whoami"

    actor: Actor


async def whoami(command: WhoAmI, deps: Deps) -> Echoed:
    return Echoed(text=str(command.actor.user_id))


@pytest.fixture
async def guarded(servers: Servers) -> AsyncIterator[str]:
    name = f"kit{uuid.uuid4().hex[:8]}"
    broker = NatsBroker(servers.nats_url, logger=None, **broker_options(servers.nats_options()))
    table = bind(Deps(), {WhoAmI: whoami})
    broker.include_router(router(name, table, verifier(public_key())))
    await broker.start()
    yield name
    await broker.stop()


async def as_caller(
    nc: NatsClient, service: str, actor: Actor, headers: dict[str, str]
) -> dict[str, Any]:
    body = json.dumps({"actor": actor.model_dump(mode="json")}).encode()
    msg = await nc.request(WhoAmI.nats_subject(service), body, timeout=5, headers=headers)
    reply: dict[str, Any] = json.loads(msg.data)
    return reply


async def test_a_command_acts_as_the_user_its_token_proves(guarded: str, nc: NatsClient) -> None:
    maria = Actor(user_id=uuid.uuid4(), roles=[Role.CUSTOMER], session_id="s-1")
    reply = await as_caller(nc, guarded, maria, headers_for(maria))
    assert reply["result"] == {"text": str(maria.user_id)}


async def test_a_forged_actor_published_straight_to_nats_is_refused(
    guarded: str, nc: NatsClient
) -> None:
    """Whoever can publish on the bus tries to act as someone else, or as an admin."""
    maria = Actor(user_id=uuid.uuid4(), roles=[Role.CUSTOMER], session_id="s-1")
    nikos = Actor(user_id=uuid.uuid4(), roles=[Role.CUSTOMER], session_id="s-2")
    as_admin = maria.model_copy(update={"roles": [Role.ADMIN]})
    stranger_key = generate_keypair()[0]
    attempts = {
        "no token": await as_caller(nc, guarded, maria, {}),
        "someone else's token": await as_caller(nc, guarded, maria, headers_for(nikos)),
        "roles raised": await as_caller(nc, guarded, as_admin, headers_for(maria)),
        "self-signed token": await as_caller(
            nc, guarded, maria, headers_for(maria, private_key=stranger_key)
        ),
        "not a token": await as_caller(nc, guarded, maria, {"Authorization": "Bearer x.y.z"}),
    }
    for attempt, reply in attempts.items():
        assert reply["ok"] is False, attempt
        assert reply["error"]["code"] == "unauthenticated", attempt

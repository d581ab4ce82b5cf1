"""Shared set-up of the identity integration tests: a migrated schema, cheap
argon2 parameters, a clock the test can move, identity's handlers answered in
process exactly as the kit answers them over NATS, and the outbox as the
notifier would see it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import pytest
from pydantic import BaseModel

from helpdesk.contracts import identity as contract
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Refused, Reply
from helpdesk.devstack.keys import generate_keypair
from helpdesk.identity.bootstrap import build_deps
from helpdesk.identity.handlers import HANDLERS
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.clock import Clock, ManualClock
from helpdesk.servicekit.personal_data import opened_envelope
from tests.schemas import migrated_pool
from tests.servers import Servers
from tests.tokens import seal_public_key, unseal
from tests.unit.identity.conftest import REGISTERED_PASSWORD
from tests.unit.identity.conftest import registration as unit_registration
from tests.unit.identity.fakes import FakeRevocations

PRIVATE_KEY, PUBLIC_KEY = generate_keypair()

ResultT = TypeVar("ResultT", bound=BaseModel)


@dataclass
class Identity:
    """Identity's handler table on real adapters, answering `Reply`s in process:
    the result, or the refusal's typed error, as the kit would over NATS."""

    pool: asyncpg.Pool
    settings: Settings
    deps: Deps

    @classmethod
    def from_settings(
        cls, pool: asyncpg.Pool, settings: Settings, clock: Clock | None = None
    ) -> Identity:
        return cls(pool, settings, build_deps(pool, settings, FakeRevocations(), clock))

    async def ask(self, command: Request[ResultT]) -> Reply[ResultT]:
        try:
            return Reply.success(await HANDLERS[type(command)](command, self.deps))  # type: ignore[arg-type]
        except Refused as refused:
            return Reply(ok=False, error=refused.error)


def identity_settings(servers: Servers, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "nats_url": servers.nats_url,
        "database_url": servers.database_url,
        "jwt_private_key": PRIVATE_KEY,
        "notifier_seal_public_key": seal_public_key(),
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8192,
        "argon2_parallelism": 1,
        "recovery_min_seconds": 0.15,
        **overrides,
    }
    return Settings(**values)


async def identity_pool(servers: Servers) -> tuple[str, asyncpg.Pool]:
    return await migrated_pool(servers.database_url, "identity", prefix="id", max_size=20)


@pytest.fixture
async def id_pool(servers: Servers) -> AsyncIterator[asyncpg.Pool]:
    _, pool = await identity_pool(servers)
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def identity(id_pool: asyncpg.Pool, servers: Servers, clock: ManualClock) -> Identity:
    return Identity.from_settings(id_pool, identity_settings(servers), clock=clock)


async def published(pool: asyncpg.Pool, event_type: str | None = None) -> list[EventEnvelope]:
    """What the relay will publish (in commit order), optionally of one type, with
    its personal fields opened (they are sealed in the outbox: issue 30)."""
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY position")
    envelopes = [EventEnvelope.model_validate_json(r["payload"]) for r in rows]
    async with pool.acquire() as conn:
        return [
            await opened_envelope(conn, e)
            for e in envelopes
            if event_type is None or e.event_type == event_type
        ]


def registration(n: int | str = "", **overrides: Any) -> contract.RegisterUser:
    """The unit tests' Μαρία, in Greek, from an address of her own: the service's
    per-address limits are real here and the tests share them."""
    values: dict[str, Any] = {
        "locale": "el",
        "client_address": f"10.0.0.{uuid.uuid4().int % 250}",
        **overrides,
    }
    return unit_registration(n, **values)


async def activation_token(pool: asyncpg.Pool, username: str) -> str:
    for envelope in reversed(await published(pool)):
        if envelope.event_type in ("UserRegistered", "ActivationResent") and (
            envelope.data["username"] == username
        ):
            return unseal(envelope.data["sealed_activation_token"])
    raise AssertionError(f"no activation token for {username}")


async def registered_and_active(identity: Identity, n: int | str = "") -> contract.RegisterUser:
    command = registration(n)
    assert (await identity.ask(command)).ok
    token = await activation_token(identity.pool, command.username)
    assert (
        await identity.ask(contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD))
    ).ok
    return command

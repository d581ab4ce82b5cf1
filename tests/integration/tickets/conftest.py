"""A tickets service wired on the real test NATS and a fresh PostgreSQL schema,
with a hand-moved clock, and a NATS client that speaks its commands."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.identity import UserRegistered
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Refused, Reply
from helpdesk.servicekit.access_tokens import verifier
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.relay import OutboxRelay
from helpdesk.servicekit.runtime import ServiceContext, broker_options, ensure_stream
from helpdesk.tickets.adapters.users import users_consumer
from helpdesk.tickets.bootstrap import TicketsApp, wire
from helpdesk.tickets.settings import Settings
from tests.schemas import migrated_pool
from tests.servers import Servers
from tests.tokens import headers_for, public_key

ATHENS = ZoneInfo("Europe/Athens")
# Monday 23 November 2026, 09:00 in Athens: the start of a business week.
MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=ATHENS)


@dataclass
class Tickets:
    app: TicketsApp
    pool: asyncpg.Pool
    schema: str
    clock: ManualClock
    nc: NatsClient
    relay: OutboxRelay

    async def user(self, name: str, *roles: Role, locale: str = "el") -> Actor:
        """A user the tickets service knows (as if identity's event had arrived)."""
        user_id = uuid.uuid4()
        roles = roles or (Role.CUSTOMER,)
        event = UserRegistered(
            user_id=user_id,
            name=name,
            username=name.lower().replace(" ", "."),
            email=f"{user_id.hex[:8]}@example.com",
            locale=locale,
            roles=list(roles),  # type: ignore[arg-type]
            registered_at=self.clock.now(),
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await users_consumer().handler(conn, EventEnvelope.wrap(event, correlation_id="test"))
        return Actor(user_id=user_id, roles=list(roles))

    async def call(self, kind: str, name: str, payload: dict[str, Any]) -> Reply[Any]:
        """Over NATS as the gateway sends it: the actor's access token in the headers."""
        actor = Actor.model_validate(payload["actor"]) if payload.get("actor") else None
        msg = await self.nc.request(
            f"tickets.{kind}.{name}",
            _json(payload),
            timeout=10,
            headers=headers_for(actor),
        )
        return Reply[Any].model_validate_json(msg.data)

    async def cmd(self, name: str, actor: Actor | None, **payload: Any) -> Reply[Any]:
        if actor is not None:
            payload["actor"] = actor.model_dump(mode="json")
        return await self.call("cmd", name, payload)

    async def query(self, name: str, actor: Actor | None, **payload: Any) -> Reply[Any]:
        if actor is not None:
            payload["actor"] = actor.model_dump(mode="json")
        return await self.call("query", name, payload)

    async def ok(self, name: str, actor: Actor, **payload: Any) -> dict[str, Any]:
        kind = "query" if name in ("get", "list", "priorities") else "cmd"
        reply = await self.call(kind, name, {**payload, "actor": actor.model_dump(mode="json")})
        assert reply.ok, reply.error
        return reply.result  # type: ignore[return-value]

    async def direct(self, command: Request[Any]) -> Reply[Any]:
        """The handler called in-process (no NATS), answered as the kit would."""
        try:
            return Reply.success(await self.app.handlers[type(command)](command))
        except Refused as refused:
            return Reply(ok=False, error=refused.error)

    async def count(self, table: str) -> int:
        return int(await self.pool.fetchval(f"SELECT count(*) FROM {table}"))


def _json(payload: dict[str, Any]) -> bytes:
    import json

    return json.dumps(payload, default=str).encode()


@asynccontextmanager
async def started_tickets(servers: Servers) -> AsyncIterator[Tickets]:
    """The tickets service wired on a schema of its own (also for the port contracts)."""
    schema, pool = await migrated_pool(servers.database_url, "tickets", prefix="tk", max_size=20)
    # The tests' identity: this connection also plays the gateway and inspects streams.
    broker = NatsBroker(servers.nats_url, logger=None, **broker_options(servers.nats_options()))
    nc = await broker.connect()
    js = nc.jetstream()
    for stream in ("IDENTITY", "TICKETS"):
        await ensure_stream(js, stream, 1)
    settings = Settings(
        nats_url=servers.nats_url, database_url=servers.database_url, jwt_public_key=public_key()
    )
    ctx = ServiceContext(
        name="tickets",
        settings=settings,
        pool=pool,
        broker=broker,
        nats=nc,
        js=js,
        verify_token=verifier(public_key()),
    )
    clock = ManualClock(MONDAY_9)
    app = wire(ctx, clock=clock, consume_identity=False)
    await broker.start()
    relay = OutboxRelay(servers.database_url, schema, js)
    yield Tickets(app=app, pool=pool, schema=schema, clock=clock, nc=nc, relay=relay)
    await broker.stop()
    await asyncio.sleep(0)
    await pool.close()


@pytest.fixture
async def tickets(servers: Servers) -> AsyncIterator[Tickets]:
    async with started_tickets(servers) as started:
        yield started

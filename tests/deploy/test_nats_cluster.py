"""A 3-node JetStream cluster on loopback (what deploy/k8s runs as a StatefulSet):
while the stream leader is killed and restarted, the outbox relay keeps
publishing and every event lands in the R3 stream exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from helpdesk.contracts.actors import Actor
from helpdesk.devstack.servers import NatsServer, free_port
from helpdesk.servicekit.relay import OutboxRelay
from helpdesk.servicekit.runtime import ensure_stream
from tests.e2e.harness import create_database, with_database
from tests.eventually import eventually
from tests.servers import Servers
from tests.tokens import headers_for, keypair, public_key, seal_public_key

pytestmark = [pytest.mark.deploy, pytest.mark.integration]

STREAM = "TICKETS"
EVENTS_PER_SECOND = 50
PRODUCE_SECONDS = 12.0


@pytest.fixture
def cluster(tmp_path: Path, servers: Servers) -> Iterator[list[NatsServer]]:
    cluster_ports = [free_port() for _ in range(3)]
    nodes = [
        NatsServer(
            tmp_path / f"n{i}",
            name=f"n{i}",
            cluster_port=port,
            routes=[p for p in cluster_ports if p != port],
            log_file=tmp_path / f"n{i}.log",
            config_file=servers.auth_config,  # the same authorization on every node
        )
        for i, port in enumerate(cluster_ports)
    ]
    for node in nodes:
        node.start()
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
async def client(cluster: list[NatsServer], servers: Servers) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(
        servers=[n.url for n in cluster],
        **servers.nats_options(),
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        connect_timeout=2,
    )
    yield nc
    await nc.close()


async def cluster_reaches(check: Callable[[], Awaitable[bool]], what: str, seconds: float) -> None:
    """A cluster state, polled; JetStream answers errors while electing a leader."""
    await eventually(check, what=what, timeout=seconds, interval=0.2, tolerate=(Exception,))


async def stream_event_ids(js: JetStreamContext) -> list[str]:
    """Every message's event id, read back by sequence number."""
    info = await js.stream_info(STREAM)
    ids: list[str] = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(STREAM, seq)
        ids.append(json.loads(msg.data or b"{}")["event_id"])
    return ids


async def produce(pool: asyncpg.Pool, stop_at: float) -> list[str]:
    """Commit outbox rows steadily, as a service accepting tickets would."""
    produced: list[str] = []
    while time.monotonic() < stop_at:
        event_id = str(uuid.uuid4())
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3, $4)",
                uuid.UUID(event_id),
                "tickets.events.ticket.submitted.normal",
                json.dumps({"event_id": event_id}).encode(),
                {},
            )
        produced.append(event_id)
        await asyncio.sleep(1 / EVENTS_PER_SECOND)
    return produced


async def test_no_event_lost_while_a_nats_node_restarts(
    servers: Servers,
    schema_pool: tuple[str, asyncpg.Pool],
    cluster: list[NatsServer],
    client: NatsClient,
) -> None:
    schema, pool = schema_pool
    js = client.jetstream(timeout=2.0)

    async def stream_ready() -> bool:
        await ensure_stream(js, STREAM, replicas=3)
        info = await js.stream_info(STREAM)
        return info.cluster is not None and info.cluster.leader is not None

    await cluster_reaches(stream_ready, "an R3 stream with a leader", 30)
    info = await js.stream_info(STREAM)
    assert info.config.num_replicas == 3

    relay = OutboxRelay(servers.database_url, schema, js, poll_interval=0.2)
    relay_task = asyncio.create_task(relay.run())
    try:
        producer = asyncio.create_task(produce(pool, time.monotonic() + PRODUCE_SECONDS))

        # Kill the stream leader mid-stream (the most disruptive node to lose) ...
        await asyncio.sleep(3)
        leader_name = (await js.stream_info(STREAM)).cluster.leader  # type: ignore[union-attr]
        victim = next(n for n in cluster if n.name == leader_name)
        victim.kill()

        async def new_leader() -> bool:
            leader = (await js.stream_info(STREAM)).cluster.leader  # type: ignore[union-attr]
            return leader is not None and leader != leader_name

        await cluster_reaches(new_leader, "a new stream leader", 30)
        # ... and bring it back while events keep coming.
        await asyncio.sleep(2)
        victim.start()

        produced = await producer
        assert len(produced) > EVENTS_PER_SECOND * PRODUCE_SECONDS / 3

        async def outbox_drained() -> bool:
            return not await pool.fetchval("SELECT count(*) FROM outbox")

        await cluster_reaches(outbox_drained, "every outbox row published", 60)

        async def restarted_node_current() -> bool:
            peers = (await js.stream_info(STREAM)).cluster.replicas or []  # type: ignore[union-attr]
            return any(p.name == victim.name and p.current for p in peers)

        await cluster_reaches(restarted_node_current, "the restarted node caught up", 60)
    finally:
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task

    stored = await stream_event_ids(js)
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert set(stored) == set(produced), "an event was lost"
    assert stored == produced, "events are out of commit order"


async def test_tickets_keep_being_accepted_while_a_nats_node_restarts(
    servers: Servers, cluster: list[NatsServer], client: NatsClient, tmp_path: Path
) -> None:
    """The real tickets service on the cluster: every accepted ticket's event arrives once."""
    from helpdesk.devstack.processes import ServiceProcess
    from helpdesk.servicekit.privacy import KeyEncryptionKeys

    database = f"cluster_{uuid.uuid4().hex[:8]}"
    await create_database(servers.database_url, database)
    env = {
        "HELPDESK_NATS_URL": cluster[0].url,  # learns the other servers from the cluster
        "HELPDESK_DATABASE_URL": with_database(servers.database_url, database),
        "HELPDESK_NATS_STREAM_REPLICAS": "3",
        "HELPDESK_JWT_PUBLIC_KEY": public_key(),
        "HELPDESK_PRIVACY_KEK": KeyEncryptionKeys.generate(),
    }
    # Identity too: it keeps the keys that seal the tickets' personal data (docs/privacy.md).
    identity_env = {
        **env,
        "HELPDESK_JWT_PRIVATE_KEY": keypair()[0],
        "HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY": seal_public_key(),
    }
    services = [
        ServiceProcess(
            name,
            free_port(),
            service_env,
            tmp_path / f"{name}.log",
            nats_creds=servers.nats_keys[name],  # its own identity and permissions
        ).start()
        for name, service_env in (("identity", identity_env), ("tickets", env))
    ]
    js = client.jetstream(timeout=2.0)
    try:
        for process in services:
            await asyncio.to_thread(process.wait_ready, 60.0)
        accepted: list[str] = []
        retries = 0
        user_id = uuid.uuid4()
        actor = {"user_id": str(user_id), "roles": ["customer"]}
        headers = headers_for(Actor.model_validate(actor))
        await announce_user(js, user_id)

        async def submit_for(seconds: float) -> None:
            nonlocal retries
            stop_at = time.monotonic() + seconds
            while time.monotonic() < stop_at:
                body = {
                    "actor": actor,
                    "subject": f"Printer {len(accepted)}",
                    "description": "It does not print.",
                    "priority": "normal",
                }
                try:
                    msg = await client.request(
                        "tickets.cmd.submit", json.dumps(body).encode(), 3, headers=headers
                    )
                except Exception:
                    retries += 1  # the service was reconnecting; ask again
                    continue
                reply = json.loads(msg.data)
                if not reply["ok"] and reply["error"]["code"] == "unavailable":
                    retries += 1  # e.g. the user is not yet known to tickets: ask again
                    await asyncio.sleep(0.2)
                    continue
                assert reply["ok"], reply
                accepted.append(reply["result"]["ticket_id"])

        async def first_accepted() -> bool:
            await submit_for(0.5)
            return bool(accepted)

        # Tickets learns the user from the IDENTITY stream before it accepts tickets.
        await cluster_reaches(first_accepted, "the first ticket accepted", 30)
        retries = 0
        submitting = asyncio.create_task(submit_for(10.0))
        await asyncio.sleep(3)
        leader_name = (await js.stream_info(STREAM)).cluster.leader  # type: ignore[union-attr]
        victim = next(n for n in cluster if n.name == leader_name)
        victim.kill()
        await asyncio.sleep(4)
        victim.start()
        await submitting
        assert len(accepted) > 20, f"only {len(accepted)} tickets accepted ({retries} retries)"

        async def all_submitted_events() -> bool:
            ids = await stream_event_ids(js)
            return set(accepted) <= set(await submitted_ticket_ids(js)) and len(ids) > 0

        await cluster_reaches(
            all_submitted_events, "every accepted ticket's event in the stream", 60
        )
        stored = await stream_event_ids(js)
        assert len(stored) == len(set(stored)), "an event was stored twice"
        submitted = await submitted_ticket_ids(js)
        assert sorted(submitted) == sorted(set(submitted)), "a ticket was submitted twice"
    finally:
        for process in reversed(services):
            process.stop()


async def submitted_ticket_ids(js: JetStreamContext) -> list[str]:
    info = await js.stream_info(STREAM)
    found: list[str] = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(STREAM, seq)
        if msg.subject and msg.subject.startswith("tickets.events.ticket.submitted."):
            found.append(json.loads(msg.data or b"{}")["data"]["ticket_id"])
    return found


async def announce_user(js: JetStreamContext, user_id: uuid.UUID) -> None:
    """What identity publishes when an operator creates an active user."""
    from datetime import UTC, datetime

    from helpdesk.contracts.envelope import EventEnvelope
    from helpdesk.contracts.identity import UserActivated, UserRegistered

    now = datetime.now(UTC)
    events = [
        UserRegistered(
            user_id=user_id,
            name="Ada",
            username=f"ada{user_id.hex[:6]}",
            email="ada@example.com",
            locale="en",
            roles=["customer"],
            registered_at=now,
        ),
        UserActivated(user_id=user_id, username=f"ada{user_id.hex[:6]}", activated_at=now),
    ]
    for event in events:
        envelope = EventEnvelope.wrap(event, correlation_id=str(uuid.uuid4()))
        await js.publish(
            event.subject(),
            envelope.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(envelope.event_id)},
        )

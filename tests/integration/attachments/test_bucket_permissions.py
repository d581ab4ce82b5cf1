"""Who may do what with the attachments bucket, on the real nats-server with the
rendered authorization block (in the style of tests/integration/test_nats_auth.py):
the gateway and the mailgate (a mail's files) store and read but cannot purge;
the notifier only reads; the tickets service (the eraser) deletes; identity and
the operator cannot read."""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from nats.aio.client import Client as NatsClient

from helpdesk.servicekit import blobs
from helpdesk.servicekit.blobs import BlobUnavailable, NatsBlobStore
from tests.integration.test_nats_auth import Violations, connected_as
from tests.servers import Servers

pytestmark = pytest.mark.integration

STREAM = blobs.stream_of(blobs.BUCKET)


async def refused_prefix(violations: Violations, prefix: str) -> None:
    """A publish violation reported for a subject starting with `prefix`."""
    expected = f'permissions violation for publish to "{prefix}'.lower()
    for _ in range(250):
        if any(expected in m.lower() for m in violations.messages):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {expected!r}; got {violations.messages}")


async def _stored(nc: NatsClient, data: bytes) -> str:
    store = NatsBlobStore(nc.jetstream())
    await store.ensure()
    name = f"perm-{os.urandom(6).hex()}"
    await store.put(name, io.BytesIO(data))
    return name


@pytest.mark.parametrize("writer", ["gateway", "mailgate"])
async def test_the_gateway_stores_and_reads_but_may_not_purge(
    servers: Servers, nc: NatsClient, writer: str
) -> None:
    violations = Violations()
    async with connected_as(servers, writer, violations) as gateway:
        store = NatsBlobStore(gateway.jetstream(), timeout=2)
        await store.ensure()
        name = f"g-{os.urandom(6).hex()}"
        data = os.urandom(300_000)
        info = await store.put(name, io.BytesIO(data))
        assert b"".join([c async for c in store.read(info)]) == data
        with pytest.raises(BlobUnavailable):
            await store.delete(name)  # the meta marker goes out; the purge is refused
        await violations.wait_for("publish", f"$JS.API.STREAM.PURGE.{STREAM}")
    assert await NatsBlobStore(nc.jetstream()).info(name) is None  # marked deleted...
    state = (
        await nc.jetstream().stream_info(STREAM, subjects_filter=f"$O.{blobs.BUCKET}.C.{info.nuid}")
    ).state
    assert state.messages > 0  # ...but its bytes were not purged by the gateway


async def test_the_notifier_reads_and_may_not_write(servers: Servers, nc: NatsClient) -> None:
    name = await _stored(nc, b"read me")
    violations = Violations()
    async with connected_as(servers, "notifier", violations) as notifier:
        store = NatsBlobStore(notifier.jetstream(), timeout=2)
        info = await store.info(name)
        assert info is not None
        assert b"".join([c async for c in store.read(info)]) == b"read me"
        with pytest.raises(BlobUnavailable):
            await store.put("forged", io.BytesIO(b"x"))
        await refused_prefix(violations, f"$O.{blobs.BUCKET}.C.")


async def test_the_tickets_service_erases(servers: Servers, nc: NatsClient) -> None:
    name = await _stored(nc, os.urandom(200_000))
    async with connected_as(servers, "tickets") as tickets:
        store = NatsBlobStore(tickets.jetstream(), timeout=2)
        assert await store.delete(name) is True
    assert await NatsBlobStore(nc.jetstream()).info(name) is None


@pytest.mark.parametrize("identity", ["identity", "operator"])
async def test_others_cannot_read_the_bucket(
    servers: Servers, nc: NatsClient, identity: str
) -> None:
    name = await _stored(nc, b"private")
    violations = Violations()
    async with connected_as(servers, identity, violations) as client:
        with pytest.raises(BlobUnavailable):
            await NatsBlobStore(client.jetstream(), timeout=1).info(name)
        await violations.wait_for(
            "publish", f"$JS.API.DIRECT.GET.{STREAM}.{blobs.meta_subject(blobs.BUCKET, name)}"
        )

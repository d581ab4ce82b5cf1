"""The blob store on a real nats-server's object store: content addressing,
ranges read a chunk at a time, deletion, and compatibility with nats-py's own
object store (the format is the object store's, not ours)."""

from __future__ import annotations

import hashlib
import io
import os
import uuid

import pytest
from nats.aio.client import Client as NatsClient

from helpdesk.servicekit.blobs import CHUNK_SIZE, NatsBlobStore

pytestmark = pytest.mark.integration


async def _store(nc: NatsClient) -> NatsBlobStore:
    store = NatsBlobStore(nc.jetstream(), bucket=f"t{uuid.uuid4().hex[:12]}")
    await store.ensure()
    return store


async def _read(store: NatsBlobStore, name: str, start: int = 0, end: int | None = None) -> bytes:
    info = await store.info(name)
    assert info is not None
    return b"".join([part async for part in store.read(info, start, end)])


async def test_stores_reads_and_dedupes_by_content(nc: NatsClient) -> None:
    store = await _store(nc)
    data = os.urandom(3 * CHUNK_SIZE + 1234)
    name = hashlib.sha256(data).hexdigest()

    first = await store.put(name, io.BytesIO(data))
    assert (first.size, first.sha256) == (len(data), name)
    assert await _read(store, name) == data

    again = await store.put(name, io.BytesIO(data))
    assert again.nuid == first.nuid  # nothing written the second time
    info = await nc.jetstream().stream_info(store.stream)
    assert info.state.messages == 4 + 1  # four chunks and one meta message


async def test_reads_any_byte_range(nc: NatsClient) -> None:
    store = await _store(nc)
    data = os.urandom(2 * CHUNK_SIZE + 10)
    await store.put("x", io.BytesIO(data))
    for start, end in [
        (0, 1),
        (5, CHUNK_SIZE + 7),
        (CHUNK_SIZE, 2 * CHUNK_SIZE),
        (len(data) - 3, None),
    ]:
        assert await _read(store, "x", start, end) == data[start:end]


async def test_delete_removes_the_bytes(nc: NatsClient) -> None:
    store = await _store(nc)
    await store.put("gone", io.BytesIO(b"secret" * 50_000))
    assert await store.delete("gone") is True
    assert await store.info("gone") is None
    assert await store.delete("gone") is False
    state = (await nc.jetstream().stream_info(store.stream)).state
    assert state.messages == 1  # only the deletion marker is left


async def test_nats_py_reads_what_we_write_and_we_read_what_it_writes(nc: NatsClient) -> None:
    store = await _store(nc)
    ours, theirs = os.urandom(300_000), os.urandom(200_000)
    await store.put("ours", io.BytesIO(ours))
    lib = await nc.jetstream().object_store(store.bucket)
    assert (await lib.get("ours")).data == ours
    await lib.put("theirs", theirs)
    assert await _read(store, "theirs") == theirs
    assert await store.info("missing") is None

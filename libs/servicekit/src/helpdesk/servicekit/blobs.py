"""Attachment bytes: a content-addressed blob store on NATS JetStream's object store.

One bucket (`attachments`, stream `OBJ_attachments`, R3 in Kubernetes like
the event streams), so no new server joins the stack. Objects are named by
what they hold (the SHA-256 of the content, `thumb-<sha256>` for a
thumbnail): storing a file that is already there writes nothing.

`BlobStore` is the small interface the services use; `NatsBlobStore` is the
one implementation. An S3-compatible one can come later behind the same four
methods (docs/attachments.md says when an operator would want it).

Why not nats-py's `ObjectStore.get/put` as they are: `get` assembles the whole
object in memory (and re-copies it for every chunk), `put` and `delete` purge
the stream, a right we grant only to the service that erases (a purge without
a subject filter would empty the bucket). Here reads fetch one chunk at a time
with JetStream's direct get (no consumer is created), writes publish the
chunks and then the meta message, in the object store's own format (nats-py
and the `nats` CLI read what this writes, and the reverse).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext

BUCKET = "attachments"
CHUNK_SIZE = 128 * 1024
# Chunks in flight while storing: bounds the memory of one upload (16 x 128 KiB).
PUBLISH_WINDOW = 16
DIGEST_PREFIX = "SHA-256="


def stream_of(bucket: str) -> str:
    return f"OBJ_{bucket}"


def chunk_subject(bucket: str, nuid: str) -> str:
    return f"$O.{bucket}.C.{nuid}"


def meta_subject(bucket: str, name: str) -> str:
    return f"$O.{bucket}.M.{base64.urlsafe_b64encode(name.encode()).decode()}"


class BlobUnavailable(Exception):
    """The store did not answer (NATS away, bucket missing): try again later."""


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    sha256: str  # hex
    nuid: str
    chunk_size: int


class BlobStore(Protocol):
    async def info(self, name: str) -> BlobInfo | None:
        """What is stored under `name`; None if nothing (or it was deleted)."""

    async def put(self, name: str, source: BinaryIO) -> BlobInfo:
        """Store `source` (read from its current position) unless `name` exists."""

    def read(self, info: BlobInfo, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes `start` to `end` (exclusive) of a stored object, a chunk at a time."""

    async def delete(self, name: str) -> bool:
        """Forget `name` and its bytes; False if it was not there."""


class NatsBlobStore:
    """`BlobStore` on a JetStream object-store bucket."""

    def __init__(self, js: JetStreamContext, bucket: str = BUCKET, timeout: float = 5.0) -> None:
        self.js = js
        self.bucket = bucket
        self.stream = stream_of(bucket)
        self.timeout = timeout

    async def ensure(self, replicas: int = 1) -> None:
        """Create the bucket if it is missing (every user of it may, like the streams)."""
        try:
            await self.js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            config = api.ObjectStoreConfig(
                bucket=self.bucket,
                description="helpdesk attachments, content-addressed",
                replicas=replicas,
                storage=api.StorageType.FILE,
            )
            # Another process may have created it a moment ago.
            with contextlib.suppress(nats.js.errors.BadRequestError):
                await self.js.create_object_store(self.bucket, config)

    async def _direct_get(self, payload: bytes, suffix: str = "") -> Msg | None:
        subject = f"$JS.API.DIRECT.GET.{self.stream}{suffix}"
        try:
            msg = await self.js._nc.request(subject, payload, timeout=self.timeout)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise BlobUnavailable(f"{subject}: {type(exc).__name__}") from None
        except nats.errors.Error as exc:
            raise BlobUnavailable(f"{subject}: {exc!r}") from None
        status = (msg.headers or {}).get("Status")
        if status == "404":
            return None
        if status:
            raise BlobUnavailable(f"{subject}: status {status} {msg.headers}")
        return msg

    async def info(self, name: str) -> BlobInfo | None:
        msg = await self._direct_get(b"", "." + meta_subject(self.bucket, name))
        if msg is None:
            return None
        meta = api.ObjectInfo.from_response(json.loads(msg.data))
        if meta.deleted or not meta.nuid:
            return None
        digest = (meta.digest or "").removeprefix(DIGEST_PREFIX)
        options = meta.options
        return BlobInfo(
            name=name,
            size=meta.size or 0,
            sha256=base64.urlsafe_b64decode(digest).hex() if digest else "",
            nuid=meta.nuid,
            chunk_size=(options.max_chunk_size if options else None) or CHUNK_SIZE,
        )

    async def put(self, name: str, source: BinaryIO) -> BlobInfo:
        existing = await self.info(name)
        if existing is not None:
            return existing  # content-addressed: the same bytes are stored once
        nuid = self.js._nc._nuid.next().decode()
        subject = chunk_subject(self.bucket, nuid)
        digest = hashlib.sha256()
        size = chunks = 0
        acks: list[asyncio.Future[api.PubAck]] = []
        try:
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
                chunks += 1
                acks.append(await self.js.publish_async(subject, chunk))
                if len(acks) >= PUBLISH_WINDOW:
                    async with asyncio.timeout(self.timeout):  # not wait_for: see servicekit.waits
                        await acks.pop(0)
            for ack in acks:
                async with asyncio.timeout(self.timeout):
                    await ack
            info = api.ObjectInfo(
                name=name,
                bucket=self.bucket,
                nuid=nuid,
                size=size,
                chunks=chunks,
                mtime=datetime.now(UTC).isoformat(),
                digest=DIGEST_PREFIX + base64.urlsafe_b64encode(digest.digest()).decode(),
                options=api.ObjectMetaOptions(max_chunk_size=CHUNK_SIZE),
            )
            await self.js.publish(
                meta_subject(self.bucket, name),
                json.dumps(info.as_dict()).encode(),
                timeout=self.timeout,
                headers={api.Header.ROLLUP: "sub"},
            )
        except (TimeoutError, nats.errors.Error) as exc:
            # Chunks without a meta message are invisible; `delete`-style purging is
            # the eraser's right only, so they wait for a bucket clean-up.
            raise BlobUnavailable(f"put {name}: {exc!r}") from None
        return BlobInfo(name, size, digest.hexdigest(), nuid, CHUNK_SIZE)

    async def read(
        self, info: BlobInfo, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        end = info.size if end is None else min(end, info.size)
        subject = chunk_subject(self.bucket, info.nuid)
        seq, offset = 1, 0
        digest = hashlib.sha256() if start == 0 and end == info.size else None
        while offset < end:
            request = json.dumps({"seq": seq, "next_by_subj": subject}).encode()
            msg = await self._direct_get(request)
            if msg is None:
                raise BlobUnavailable(f"{info.name}: chunk missing at offset {offset}")
            seq = int(msg.headers["Nats-Sequence"]) + 1  # type: ignore[index]
            data = msg.data
            if digest is not None:
                digest.update(data)
            lo, hi = max(start - offset, 0), min(end - offset, len(data))
            offset += len(data)
            if hi > lo:
                yield data[lo:hi] if (lo, hi) != (0, len(data)) else data
        if digest is not None and info.sha256 and digest.hexdigest() != info.sha256:
            raise BlobUnavailable(f"{info.name}: digest mismatch")

    async def delete(self, name: str) -> bool:
        info = await self.info(name)
        if info is None:
            return False
        marker = api.ObjectInfo(
            name=name, bucket=self.bucket, nuid=info.nuid, size=0, chunks=0, deleted=True
        )
        try:
            await self.js.publish(
                meta_subject(self.bucket, name),
                json.dumps(marker.as_dict()).encode(),
                timeout=self.timeout,
                headers={api.Header.ROLLUP: "sub"},
            )
            await self.js.purge_stream(self.stream, subject=chunk_subject(self.bucket, info.nuid))
        except (TimeoutError, nats.errors.Error) as exc:
            raise BlobUnavailable(f"delete {name}: {exc!r}") from None
        return True


__all__ = [
    "BUCKET",
    "BlobInfo",
    "BlobStore",
    "BlobUnavailable",
    "NatsBlobStore",
    "chunk_subject",
    "meta_subject",
    "stream_of",
]

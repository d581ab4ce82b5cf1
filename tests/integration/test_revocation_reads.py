"""The gateway's revocation read on a real JetStream KV bucket: both of a token's
keys in one batched direct get, which answers "none" without a second request."""

from __future__ import annotations

import uuid

import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import KeyValueConfig

from helpdesk.gateway.revocations import any_present

pytestmark = pytest.mark.integration


async def test_one_request_tells_whether_either_key_holds_a_revocation(nc: NatsClient) -> None:
    bucket = f"revocations_{uuid.uuid4().hex[:8]}"
    kv = await nc.jetstream().create_key_value(KeyValueConfig(bucket=bucket, direct=True))
    session, user = f"session.{uuid.uuid4()}", f"user.{uuid.uuid4()}"
    try:
        assert await any_present(nc, bucket, (session, user)) is False
        await kv.put(f"session.{uuid.uuid4()}", b"revoked")  # another session's
        assert await any_present(nc, bucket, (session, user)) is False
        await kv.put(user, b"2")
        assert await any_present(nc, bucket, (session, user)) is True
        assert await any_present(nc, bucket, (session,)) is False
        await kv.put(session, b"revoked")
        assert await any_present(nc, bucket, (session,)) is True
    finally:
        await nc.jetstream().delete_key_value(bucket)

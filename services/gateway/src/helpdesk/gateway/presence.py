"""Who else has a ticket open (issue 29): "Κώστας is viewing / replying".

One key per ticket in the NATS key-value bucket `presence`, holding the
agents present with until when (`FRESH` after their last sign of life); the
bucket's own TTL (`BUCKET_TTL`) drops a ticket nobody has looked at for a
while. Pages post every few seconds (static/live.js); a write is a
compare-and-set on the key's revision, so two replicas never lose each
other's entries. Every gateway replica reads and writes the same bucket.
"""

from __future__ import annotations

import json
import time
from typing import Literal
from uuid import UUID

import nats.js.errors
from nats.js.api import KeyValueConfig
from nats.js.kv import KeyValue

from helpdesk.gateway.deps import Gateway

BUCKET = "presence"
BUCKET_TTL = 120.0  # seconds a ticket's key lives after its last write
FRESH = 25.0  # seconds an agent counts as present after their last sign
Doing = Literal["viewing", "replying"]


async def _bucket(gateway: Gateway) -> KeyValue:
    if gateway.presence is None:
        assert gateway.nats is not None
        gateway.presence = await gateway.nats.jetstream().create_key_value(
            KeyValueConfig(
                bucket=BUCKET,
                ttl=BUCKET_TTL,
                history=1,
                replicas=gateway.settings.nats_stream_replicas,
            )
        )
    return gateway.presence


async def mark(
    gateway: Gateway, ticket_id: UUID, user_id: UUID, name: str, doing: Doing
) -> list[dict[str, str]]:
    """Record that `user_id` is `doing` on the ticket; the others present, as
    `{"name", "doing"}`, the ones replying first."""
    kv = await _bucket(gateway)
    key, now = str(ticket_id), time.time()
    for _ in range(5):
        try:
            entry = await kv.get(key)
            revision, present = entry.revision, json.loads(entry.value or b"{}")
        except nats.js.errors.KeyNotFoundError:
            revision, present = None, {}
        present = {u: p for u, p in present.items() if p.get("until", 0) > now}
        present[str(user_id)] = {"name": name, "doing": doing, "until": now + FRESH}
        value = json.dumps(present).encode()
        try:
            if revision is None:
                await kv.create(key, value)
            else:
                await kv.update(key, value, last=revision)
            break
        except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.APIError):
            continue  # another replica wrote first: read again
    others = [
        {"name": p["name"], "doing": p["doing"]} for u, p in present.items() if u != str(user_id)
    ]
    return sorted(others, key=lambda p: (p["doing"] != "replying", p["name"]))

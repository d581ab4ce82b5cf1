"""The key ring of the services that do not own the keystore: keys asked of
identity (`GetDataKeys`, contracts/privacy.py), unwrapped here with this
process's `HELPDESK_PRIVACY_KEK` — the bus only ever carries wrapped keys.

Keys are kept for a while, so that a burst of events costs one request:
- keys to seal with for `write_seconds`: a key destroyed meanwhile only seals
  what nobody can open any more, which is what an erasure wants anyway;
- keys to open with for `read_seconds`, and no longer: this is the longest an
  erased person's data can still be opened by this process, so every service
  scrubs its plaintext only once that time has passed (docs/privacy.md,
  "Erasure"), and `forget` drops a person's keys at once when the erasure
  event arrives.
Identity unreachable: the request fails as `Unanswered`, and the work that
needed the key is retried (a command answers 503, an event is redelivered).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from nats.aio.client import Client as NatsClient

from helpdesk.contracts.privacy import GetDataKeys, WrappedDataKey
from helpdesk.servicekit.keystore import StoredKey
from helpdesk.servicekit.privacy import DataKey, KeyEncryptionKeys, WrappedKey
from helpdesk.servicekit.requests import ask

READ_SECONDS = 30.0
WRITE_SECONDS = 300.0
V = TypeVar("V")
_MOST = 10_000  # cached keys of each kind; a cache, not a copy of the keystore


@dataclass
class RemoteKeyRing:
    nc: NatsClient
    keks: KeyEncryptionKeys
    read_seconds: float = READ_SECONDS
    write_seconds: float = WRITE_SECONDS
    within: float = 5.0  # seconds to wait for identity's answer
    # person -> (until, key or None when erased); key id -> (until, key)
    _writing: dict[UUID, tuple[float, DataKey | None]] = field(default_factory=dict, init=False)
    _reading: dict[UUID, tuple[float, DataKey]] = field(default_factory=dict, init=False)

    async def key_for(self, person_id: UUID) -> DataKey | None:
        now = time.monotonic()
        cached = self._writing.get(person_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        answer = await ask(self.nc, GetDataKeys(for_writing=[person_id]), within=self.within)
        key = next((self._unwrapped(k) for k in answer.keys if k.person_id == person_id), None)
        _bounded(self._writing)[person_id] = (now + self.write_seconds, key)
        return key

    async def keys(self, key_ids: set[UUID]) -> Mapping[UUID, DataKey]:
        now = time.monotonic()
        found = {}
        for key_id in key_ids:
            cached = self._reading.get(key_id)
            if cached is not None and cached[0] > now:
                found[key_id] = cached[1]
        missing = sorted(key_ids - set(found))
        if missing:
            answer = await ask(self.nc, GetDataKeys(for_reading=missing), within=self.within)
            for wrapped in answer.keys:
                key = self._unwrapped(wrapped)
                if key is not None:
                    found[key.key_id] = key
                    _bounded(self._reading)[key.key_id] = (now + self.read_seconds, key)
        return found

    def __call__(self, _conn: object) -> RemoteKeyRing:
        """The ring of every connection: keys are asked over NATS, not per connection."""
        return self

    def forget(self, person_id: UUID) -> None:
        """Drop the person's keys (their erasure arrived)."""
        self._writing.pop(person_id, None)
        for key_id, (_, key) in list(self._reading.items()):
            if key.person_id == person_id:
                del self._reading[key_id]

    def _unwrapped(self, key: WrappedDataKey) -> DataKey | None:
        stored = StoredKey(
            key.key_id, key.person_id, WrappedKey(key.kek_id, base64.b64decode(key.wrapped))
        )
        return stored.unwrap(self.keks)


def _bounded(cache: dict[UUID, V]) -> dict[UUID, V]:
    if len(cache) >= _MOST:
        cache.clear()
    return cache

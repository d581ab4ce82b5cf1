"""The revocation list in a NATS KV bucket (`helpdesk.contracts.identity.REVOCATIONS_BUCKET`).

Identity writes an entry when a session ends (logout) or a password changes;
the gateway reads them before it accepts an access token, so those tokens stop
working at once instead of living out their lifetime. The bucket's entries
expire with the tokens they void (access-token lifetime plus a margin for a
token minted just after the entry, e.g. by a login in flight during a reset).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from helpdesk.contracts.identity import (
    REVOCATIONS_BUCKET,
    revoked_session_key,
    revoked_user_key,
)
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

MARGIN = timedelta(minutes=1)
ATTEMPTS = 5


class KvRevocations:
    def __init__(self, js: JetStreamContext, access_token_ttl: timedelta, replicas: int) -> None:
        self._js = js
        self._config = KeyValueConfig(
            bucket=REVOCATIONS_BUCKET,
            description="access tokens void before they expire (docs/accounts.md)",
            history=1,
            ttl=(access_token_ttl + MARGIN).total_seconds(),
            storage=StorageType.FILE,
            replicas=replicas,
            direct=True,
        )
        self._kv: KeyValue | None = None

    async def bucket(self) -> KeyValue:
        if self._kv is None:
            try:
                self._kv = await self._js.create_key_value(self._config)
            except nats.js.errors.BadRequestError:  # declared by another replica, other settings
                self._kv = await self._js.key_value(REVOCATIONS_BUCKET)
        return self._kv

    async def revoke_session(self, session_id: UUID) -> None:
        await self._put(revoked_session_key(session_id), b"revoked")

    async def revoke_user(self, user_id: UUID, credentials_version: int) -> None:
        await self._put(revoked_user_key(user_id), str(credentials_version).encode())

    async def _put(self, key: str, value: bytes) -> None:
        """A few tries; the session itself is already revoked in PostgreSQL, so if
        NATS stays away the tokens still end, at their expiry (logged loudly)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await (await self.bucket()).put(key, value)
                return
            except (nats.errors.Error, nats.js.errors.Error) as exc:
                if attempt == ATTEMPTS:
                    log.error("revocation not recorded", key=key, error=repr(exc))
                    return
                await asyncio.sleep(0.1 * 2**attempt)

"""argon2id password hashing, off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

from helpdesk.identity.handlers.deps import Verification


class Argon2Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Checked against when the username is unknown, so that case costs the same.
        self._decoy = self._argon2.hash("decoy password for unknown usernames")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> Verification:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> Verification:
        try:
            self._argon2.verify(password_hash or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return Verification(ok=False)
        if not password_hash:  # unknown user, or an account without a local password
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._argon2.check_needs_rehash(password_hash))

"""The keystore of crypto-shredding (servicekit/privacy.py, docs/privacy.md):
one data key per person, wrapped by `HELPDESK_PRIVACY_KEK`, in the schema
`privacy` of the shared database.

Who does what (docs/privacy.md, "The keystore"):
- any service that seals a person's data makes that person's key on first use
  (`key_for`: an insert that never overwrites, so two writers agree on one key);
- any service that opens sealed data reads keys by id (`keys`);
- only identity destroys a key (`destroy`, the erasure) and rewraps the store
  under a new key-encryption key (`rewrap`, the rotation). A destroyed key
  leaves a row without key material, so nobody makes that person a new key.

Every service creates the schema at start (`ensure_keystore`), under a lock,
so it does not matter which starts first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.privacy import DataKey, KeyEncryptionKeys, PrivacyError, WrappedKey

SCHEMA = "privacy"

_CREATE = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.person_keys (
    person_id    uuid PRIMARY KEY,
    key_id       uuid NOT NULL UNIQUE,
    -- Both NULL once the key is destroyed (the person was erased).
    kek_id       text,
    wrapped      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)),
    CHECK ((wrapped IS NULL) = (kek_id IS NULL))
);
"""


def _checked(schema: str) -> str:
    if not schema.isidentifier():
        raise ValueError(f"not a schema name: {schema!r}")
    return schema


async def ensure_keystore(pool: asyncpg.Pool, schema: str = SCHEMA) -> None:
    """Create the keystore's schema and table unless they exist (`schema`: another
    name for tests that need a keystore of their own)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('migrate:privacy'))")
        await conn.execute(_CREATE.format(schema=_checked(schema)))


class Keystore:
    """The keystore's statements, in `schema` (another name than `privacy` only for
    tests that need a keystore of their own), with the key-encryption keys."""

    def __init__(self, keks: KeyEncryptionKeys, schema: str = SCHEMA) -> None:
        self.keks = keks
        self._table = f"{_checked(schema)}.person_keys"

    async def key_for(self, conn: Connection, person_id: UUID) -> DataKey | None:
        """The person's key, made on first use; None once destroyed."""
        select = f"SELECT key_id, kek_id, wrapped FROM {self._table} WHERE person_id = $1"
        row = await conn.fetchrow(select, person_id)
        if row is None:
            new = DataKey.new(uuid4(), person_id)
            wrapped = self.keks.wrap(new)
            await conn.execute(
                f"INSERT INTO {self._table} (person_id, key_id, kek_id, wrapped)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (person_id) DO NOTHING",
                person_id,
                new.key_id,
                wrapped.kek_id,
                wrapped.blob,
            )
            row = await conn.fetchrow(select, person_id)
            assert row is not None
        return self._unwrapped(row, person_id)

    def _unwrapped(self, row: asyncpg.Record, person_id: UUID) -> DataKey | None:
        if row["wrapped"] is None:
            return None
        wrapped = WrappedKey(row["kek_id"], bytes(row["wrapped"]))
        return self.keks.unwrap(row["key_id"], person_id, wrapped)

    async def keys(self, conn: Connection, key_ids: set[UUID]) -> dict[UUID, DataKey]:
        """The keys among `key_ids` that still exist."""
        if not key_ids:
            return {}
        rows = await conn.fetch(
            f"SELECT person_id, key_id, kek_id, wrapped FROM {self._table}"
            " WHERE key_id = any($1::uuid[]) AND wrapped IS NOT NULL",
            list(key_ids),
        )
        found = {r["key_id"]: self._unwrapped(r, r["person_id"]) for r in rows}
        return {key_id: key for key_id, key in found.items() if key is not None}

    async def destroy(self, conn: Connection, person_id: UUID) -> datetime:
        """Destroy the person's key (or record, for someone who never had one, that
        none may be made); returns when it was destroyed. Idempotent."""
        destroyed: datetime = await conn.fetchval(
            f"INSERT INTO {self._table} AS k (person_id, key_id, destroyed_at)"
            " VALUES ($1, $2, now())"
            " ON CONFLICT (person_id) DO UPDATE SET kek_id = NULL, wrapped = NULL,"
            "   destroyed_at = coalesce(k.destroyed_at, now())"
            " RETURNING destroyed_at",
            person_id,
            uuid4(),
        )
        return destroyed

    async def is_destroyed(self, conn: Connection, person_id: UUID) -> bool:
        return bool(
            await conn.fetchval(
                f"SELECT destroyed_at IS NOT NULL FROM {self._table} WHERE person_id = $1",
                person_id,
            )
        )

    async def rewrap(self, conn: Connection, batch: int = 500) -> int:
        """Rewrap every live key not wrapped by the current key-encryption key;
        returns how many. Run after putting a new key first in the setting."""
        done = 0
        while True:
            rows = await conn.fetch(
                f"SELECT person_id, key_id, kek_id, wrapped FROM {self._table}"
                " WHERE wrapped IS NOT NULL AND kek_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
                self.keks.current_id,
                batch,
            )
            for r in rows:
                key = self._unwrapped(r, r["person_id"])
                assert key is not None
                again = self.keks.wrap(key)
                await conn.execute(
                    f"UPDATE {self._table} SET kek_id = $2, wrapped = $3 WHERE person_id = $1",
                    r["person_id"],
                    again.kek_id,
                    again.blob,
                )
            done += len(rows)
            if len(rows) < batch:
                return done


class ConnectionKeyRing:
    """`privacy.KeyRing` on one connection: a key made for a write is made in the
    writer's transaction, so it exists exactly when the data it sealed does. No
    cache: an erasure takes effect for the very next read or write."""

    def __init__(self, conn: Connection, store: Keystore | None = None) -> None:
        self._conn = conn
        self._store = store or Keystore(configured())

    async def key_for(self, person_id: UUID) -> DataKey | None:
        return await self._store.key_for(self._conn, person_id)

    async def keys(self, key_ids: set[UUID]) -> Mapping[UUID, DataKey]:
        return await self._store.keys(self._conn, key_ids)


_KEKS: list[KeyEncryptionKeys] = []


def configure(keks: KeyEncryptionKeys) -> None:
    """Set this process's key-encryption keys (the runtime does, from
    `HELPDESK_PRIVACY_KEK`, before the first message)."""
    _KEKS[:] = [keks]


def configured() -> KeyEncryptionKeys:
    if not _KEKS:
        raise PrivacyError("HELPDESK_PRIVACY_KEK is not configured in this process")
    return _KEKS[0]

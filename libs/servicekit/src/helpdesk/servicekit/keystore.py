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

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

import asyncpg

from helpdesk.contracts.privacy import DataKeys, GetDataKeys, WrappedDataKey
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.privacy import (
    DataKey,
    KeyEncryptionKeys,
    KeyRing,
    PrivacyError,
    WrappedKey,
)

if TYPE_CHECKING:  # handlers -> eventstore -> personal_data -> this module
    from helpdesk.servicekit.handlers import Handlers

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


@dataclass(frozen=True)
class StoredKey:
    """A keystore row: `wrapped` is None once the key was destroyed."""

    key_id: UUID
    person_id: UUID
    wrapped: WrappedKey | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> StoredKey:
        wrapped = WrappedKey(row["kek_id"], bytes(row["wrapped"])) if row["wrapped"] else None
        return cls(row["key_id"], row["person_id"], wrapped)

    def unwrap(self, keks: KeyEncryptionKeys) -> DataKey | None:
        if self.wrapped is None:
            return None
        return keks.unwrap(self.key_id, self.person_id, self.wrapped)


class Keystore:
    """The keystore's statements, in `schema` (another name than `privacy` only for
    tests that need a keystore of their own), with the key-encryption keys."""

    def __init__(self, keks: KeyEncryptionKeys, schema: str = SCHEMA) -> None:
        self.keks = keks
        self._table = f"{_checked(schema)}.person_keys"

    async def stored_for(self, conn: Connection, person_id: UUID) -> StoredKey:
        """The person's key as stored, made on first use (a destroyed one stays so)."""
        select = (
            f"SELECT person_id, key_id, kek_id, wrapped FROM {self._table} WHERE person_id = $1"
        )
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
        return StoredKey.of(row)

    async def stored(self, conn: Connection, key_ids: set[UUID]) -> list[StoredKey]:
        """The keys among `key_ids` that still exist, as stored."""
        if not key_ids:
            return []
        rows = await conn.fetch(
            f"SELECT person_id, key_id, kek_id, wrapped FROM {self._table}"
            " WHERE key_id = any($1::uuid[]) AND wrapped IS NOT NULL",
            list(key_ids),
        )
        return [StoredKey.of(r) for r in rows]

    async def key_for(self, conn: Connection, person_id: UUID) -> DataKey | None:
        """The person's key, made on first use; None once destroyed."""
        return (await self.stored_for(conn, person_id)).unwrap(self.keks)

    async def keys(self, conn: Connection, key_ids: set[UUID]) -> dict[UUID, DataKey]:
        """The keys among `key_ids` that still exist."""
        found = [k.unwrap(self.keks) for k in await self.stored(conn, key_ids)]
        return {k.key_id: k for k in found if k is not None}

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

    async def key_ids_of(self, conn: Connection, person_id: UUID) -> list[UUID]:
        """The ids of the person's keys (destroyed or not): ids name nobody."""
        rows = await conn.fetch(f"SELECT key_id FROM {self._table} WHERE person_id = $1", person_id)
        return [row["key_id"] for row in rows]

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
                key = StoredKey.of(r).unwrap(self.keks)
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
    """`privacy.KeyRing` on one connection to identity's database: a key made for
    a write is made in the writer's transaction, so it exists exactly when the
    data it sealed does. No cache: an erasure takes effect at once."""

    def __init__(self, conn: Connection, store: Keystore) -> None:
        self._conn = conn
        self._store = store

    async def key_for(self, person_id: UUID) -> DataKey | None:
        return await self._store.key_for(self._conn, person_id)

    async def keys(self, key_ids: set[UUID]) -> Mapping[UUID, DataKey]:
        return await self._store.keys(self._conn, key_ids)


# What the kit seals and opens with, given the connection of the work at hand:
# the keystore itself in identity, identity's answers elsewhere (remote_keys.py).
RingFor = Callable[[Connection], KeyRing]
_RING_FOR: list[RingFor] = []


def configure(ring_for: RingFor) -> None:
    """Set this process's key ring (the runtime does, before the first message)."""
    _RING_FOR[:] = [ring_for]


_OWNED: list[Keystore] = []


def local(store: Keystore) -> RingFor:
    """The keystore's owner: keys on the connection of the work at hand."""
    _OWNED[:] = [store]
    return lambda conn: ConnectionKeyRing(conn, store)


def owned() -> Keystore:
    """The keystore this process owns (identity's); erasure destroys keys in it."""
    if not _OWNED:
        raise PrivacyError("this process owns no keystore")
    return _OWNED[0]


def forget(person_id: UUID) -> None:
    """Drop the person's keys from this process's cache, if its ring keeps one."""
    for ring_for_conn in _RING_FOR:
        forget_person = getattr(ring_for_conn, "forget", None)
        if forget_person is not None:
            forget_person(person_id)


def ring_for(conn: Connection) -> KeyRing:
    if not _RING_FOR:
        raise PrivacyError("no key ring is configured in this process (HELPDESK_PRIVACY_KEK)")
    return _RING_FOR[0](conn)


def serve_data_keys(pool: asyncpg.Pool, store: Keystore) -> Handlers:
    """Identity's answer to `GetDataKeys`: keys as stored (wrapped), made on first use
    for writing; the people already erased are named instead of keyed."""

    async def data_keys(request: GetDataKeys) -> DataKeys:
        async with pool.acquire() as conn:
            writing = [await store.stored_for(conn, p) for p in request.for_writing]
            reading = await store.stored(conn, set(request.for_reading))
        return DataKeys(
            keys=[_wire(k) for k in [*writing, *reading] if k.wrapped is not None],
            erased=[k.person_id for k in writing if k.wrapped is None],
        )

    return {GetDataKeys: data_keys}


def _wire(key: StoredKey) -> WrappedDataKey:
    assert key.wrapped is not None
    return WrappedDataKey(
        key_id=key.key_id,
        person_id=key.person_id,
        kek_id=key.wrapped.kek_id,
        wrapped=base64.b64encode(key.wrapped.blob).decode(),
    )

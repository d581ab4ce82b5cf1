"""The keystore of crypto-shredding (servicekit/keystore.py) on a real PostgreSQL:
one key per person however many writers ask at once, keys wrapped (never
stored in the clear), destroyed for good, and rewrapped on a rotation."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg

from helpdesk.servicekit.keystore import ConnectionKeyRing, Keystore, ensure_keystore
from helpdesk.servicekit.privacy import KeyEncryptionKeys, open_value, seal_value


async def test_one_key_per_person_wrapped_destroyed_for_good(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    schema, pool = schema_pool
    keys_schema = f"{schema}_keys"  # a keystore of this test's own
    await asyncio.gather(*(ensure_keystore(pool, keys_schema) for _ in "ab"))  # two start
    store = Keystore(KeyEncryptionKeys.parse(KeyEncryptionKeys.generate()), keys_schema)
    maria = uuid4()

    # Two writers at once agree on one key, and its secret is not in the table.
    async with pool.acquire() as one, pool.acquire() as other:
        first, second = await asyncio.gather(
            ConnectionKeyRing(one, store).key_for(maria),
            ConnectionKeyRing(other, store).key_for(maria),
        )
    reader = await pool.acquire()
    ring = ConnectionKeyRing(reader, store)
    assert first is not None
    assert first == second
    stored = await pool.fetchrow(
        f"SELECT * FROM {keys_schema}.person_keys WHERE person_id = $1", maria
    )
    assert stored is not None
    assert first.secret not in bytes(stored["wrapped"])
    assert await ring.keys({first.key_id, uuid4()}) == {first.key_id: first}

    event_id = uuid4()
    sealed = seal_value(first, "Μαρία Παπαδοπούλου", event_id=event_id, path="name")

    # Destroyed: no reader gets the key, no writer makes a new one, whatever it cached.
    async with pool.acquire() as conn:
        when = await store.destroy(conn, maria)
        assert await store.destroy(conn, maria) == when  # idempotent
        assert await store.is_destroyed(conn, maria)
    assert await ring.keys({first.key_id}) == {}
    assert await ring.key_for(maria) is None
    row = await pool.fetchrow(
        f"SELECT * FROM {keys_schema}.person_keys WHERE person_id = $1", maria
    )
    assert row is not None
    assert (row["wrapped"], row["kek_id"]) == (None, None)
    # The ciphertext outlives the key, and nothing left opens it.
    assert open_value(first, sealed, event_id=event_id, path="name") == "Μαρία Παπαδοπούλου"

    # Someone erased before they ever had a key never gets one.
    never = uuid4()
    async with pool.acquire() as conn:
        await store.destroy(conn, never)
    assert await ring.key_for(never) is None
    await pool.release(reader)


async def test_rotation_rewraps_every_live_key(schema_pool: tuple[str, asyncpg.Pool]) -> None:
    schema, pool = schema_pool
    keys_schema = f"{schema}_keys"
    await ensure_keystore(pool, keys_schema)
    old, new = KeyEncryptionKeys.generate(), KeyEncryptionKeys.generate()
    conn = await pool.acquire()
    before = ConnectionKeyRing(conn, Keystore(KeyEncryptionKeys.parse(old), keys_schema))
    people = [uuid4() for _ in range(3)]
    made = {p: await before.key_for(p) for p in people}

    during = Keystore(KeyEncryptionKeys.parse(f"{new},{old}"), keys_schema)
    async with conn.transaction():
        assert await during.rewrap(conn, batch=2) == 3
        assert await during.rewrap(conn) == 0  # nothing left to do

    after = ConnectionKeyRing(conn, Keystore(KeyEncryptionKeys.parse(new), keys_schema))
    for person, key in made.items():
        assert key is not None
        assert await after.key_for(person) == key
    await pool.release(conn)

"""A service's tables in a schema of their own, for one test: the kit's
migrations and the service's, applied as the service applies them at start."""

from __future__ import annotations

import uuid
from importlib.resources import files

import asyncpg

from helpdesk.servicekit import keystore
from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from helpdesk.servicekit.privacy import KeyEncryptionKeys

# The in-process services of the integration tests seal personal data as the real
# ones do, with keys from a keystore of this process (identity's, in production).
TEST_KEKS = KeyEncryptionKeys.parse(KeyEncryptionKeys.generate())
_KEYSTORE = keystore.Keystore(TEST_KEKS)


async def with_keystore(pool: asyncpg.Pool) -> None:
    """Make the keystore's tables in `pool`'s database (once) and let this process
    seal and open with it."""
    await keystore.ensure_keystore(pool)
    keystore.configure(keystore.local(_KEYSTORE))


async def migrated_pool(
    database_url: str, service: str, *, prefix: str = "t", max_size: int = 5
) -> tuple[str, asyncpg.Pool]:
    """A new schema `<prefix>_<random>` with `helpdesk.<service>.migrations` applied."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    pool = await create_pool(database_url, schema, min_size=1, max_size=max_size)
    await apply_migrations(
        pool,
        schema,
        migration_files(files(KIT_MIGRATIONS), files(f"helpdesk.{service}.migrations")),
    )
    await with_keystore(pool)
    return schema, pool

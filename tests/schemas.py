"""A service's tables in a schema of their own, for one test: the kit's
migrations and the service's, applied as the service applies them at start."""

from __future__ import annotations

import uuid
from importlib.resources import files

import asyncpg

from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files


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
    return schema, pool

"""The deploy-time setup step for one service: migrate its PostgreSQL schema and
create or update the JetStream streams, then exit.

Kubernetes runs it as an init container in every replica, so several copies
start at once. That is safe: migrations run under a PostgreSQL advisory lock
(`servicekit.db.apply_migrations`) and `ensure_stream` is idempotent (an
identical `add_stream` succeeds; a changed configuration is updated). The
services repeat both steps at start; doing it here first makes a bad
migration or an unreachable NATS fail the rollout visibly (Init:Error) before
any new replica takes traffic. It connects to NATS as the service itself
(HELPDESK_NATS_CREDS), so a wrong or unknown key fails the rollout too. The
gateway owns no stream and may not touch JetStream: for it the step only
proves its key is accepted.

    python helpdesk_setup.py identity
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import TypeVar

import nats

from helpdesk.contracts import subjects
from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from helpdesk.servicekit.runtime import ensure_stream
from helpdesk.servicekit.settings import ServiceSettings, load_settings

# Services with an event store of their own; the gateway keeps no state.
STATEFUL = ("identity", "tickets", "notifier", "mailgate")
SERVICES = (*STATEFUL, "gateway")
T = TypeVar("T")


async def retry(what: str, step: Callable[[], Awaitable[T]], deadline: float) -> T:
    """Run `step` until it succeeds: PostgreSQL and the NATS cluster may still be electing."""
    delay = 0.5
    while True:
        try:
            return await step()
        except Exception as exc:
            if time.monotonic() + delay > deadline:
                raise
            print(f"setup: {what} not ready ({exc!r}); retrying in {delay:.1f}s", file=sys.stderr)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def migrate(service: str, settings: ServiceSettings, deadline: float) -> list[str]:
    packages = [files(KIT_MIGRATIONS)]
    own = f"helpdesk.{service}.migrations"
    if importlib.util.find_spec(own) is not None:
        packages.append(files(own))
    pool = await retry(
        "PostgreSQL",
        lambda: create_pool(settings.database_url, service, min_size=1, max_size=1),
        deadline,
    )
    try:
        return await apply_migrations(pool, service, migration_files(*packages))
    finally:
        await pool.close()


async def declare_streams(service: str, settings: ServiceSettings, deadline: float) -> None:
    nc = await retry(
        "NATS",
        lambda: nats.connect(settings.nats_url, name=service, **settings.nats_options(service)),
        deadline,
    )
    try:
        if service not in STATEFUL:
            return
        js = nc.jetstream()
        for stream in subjects.STREAMS:

            async def declare(name: str = stream) -> None:
                await ensure_stream(js, name, settings.nats_stream_replicas)

            await retry(f"stream {stream}", declare, deadline)
    finally:
        await nc.drain()


async def setup(service: str, settings: ServiceSettings, patience: float = 300.0) -> list[str]:
    """Returns the migrations this run applied (none when another replica did)."""
    deadline = time.monotonic() + patience
    applied = await migrate(service, settings, deadline) if service in STATEFUL else []
    await declare_streams(service, settings, deadline)
    return applied


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: helpdesk_setup.py {{{'|'.join(SERVICES)}}}", file=sys.stderr)
        return 64
    settings = load_settings(ServiceSettings)
    applied = asyncio.run(setup(argv[0], settings))
    print(f"setup {argv[0]}: migrations applied: {applied or 'none'}; streams ready")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

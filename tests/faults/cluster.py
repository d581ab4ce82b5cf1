"""The whole helpdesk as processes, with servers we may kill: its own
PostgreSQL (kill -9 of the postmaster, crash recovery on restart), NATS with
its store (kill -9, restart), the SMTP sink (stop, start) and every service
(kill -9, restart)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import asyncpg
import pgserver
from pgserver._commands import POSTGRES_BIN_PATH

from helpdesk.devstack.servers import free_port, wait_for_port
from tests.e2e.harness import System, with_database
from tests.servers import Servers, nats_keys_for_tests

# Short waits so a test sees recovery in seconds; the reconnect budget of
# nats-py's defaults (60 attempts) is over in ~15 s at this wait, so an outage
# longer than that proves the services reconnect forever. The mail path keeps
# the production back-off: a short one hid a 10-minute mail silence (issue 26).
FAST_RECOVERY_ENV = {
    "HELPDESK_NATS_RECONNECT_WAIT": "0.25",
    "HELPDESK_ARGON2_TIME_COST": "1",
    "HELPDESK_ARGON2_MEMORY_KIB": "8192",
    "HELPDESK_ARGON2_PARALLELISM": "1",
}


class KillablePostgres:
    """PostgreSQL 16 from pgserver's binaries, run as our own child process on
    127.0.0.1 so that it can be killed with SIGKILL and restarted on the same
    data (crash recovery), as a real crash would."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        # postgres refuses to run as root; pgserver creates this user for it.
        self.user = "pgserver" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> KillablePostgres:
        if not (self.data_dir / "PG_VERSION").exists():
            # initdb (and a first start and stop) the way pgserver does it.
            pgserver.get_server(self.data_dir, cleanup_mode="stop").cleanup()  # type: ignore[attr-defined]
        for attempt in range(40):
            # After a kill, orphaned backends may hold shared memory for a moment.
            log = (self.data_dir.parent / "postgres.log").open("ab")
            self.process = subprocess.Popen(
                [
                    str(POSTGRES_BIN_PATH / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={self.data_dir}",
                ],
                user=self.user,
                stdout=log,
                stderr=log,
            )
            try:
                wait_for_port(self.port, timeout=10)
                return self
            except TimeoutError:
                self.kill()
                if attempt == 39:
                    raise
                time.sleep(0.25)
        return self

    def kill(self) -> None:
        """kill -9 of the postmaster; its backends notice and exit on their own."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


async def create_database(url: str, name: str) -> None:
    import asyncio

    for _ in range(100):  # a loaded machine: the server may still be starting up
        try:
            conn = await asyncpg.connect(url)
            break
        except asyncpg.CannotConnectNowError:
            await asyncio.sleep(0.2)
    else:
        conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


class FaultySystem(System):
    """`System` on a PostgreSQL of its own, with fast-recovery settings."""

    def __init__(self, workdir: Path, pg: KillablePostgres, env: dict[str, str]) -> None:
        database_url = with_database(pg.url, "helpdesk")
        keys, auth_config = nats_keys_for_tests(workdir / "nats-keys")  # NATS runs with auth
        servers = Servers("", database_url, "faults", keys, auth_config)
        super().__init__(workdir, servers, database_url)
        self.pg = pg
        self.env.update(env)

    def kill(self, name: str) -> None:
        self.processes[name].kill()

    def start_service(self, name: str) -> None:
        self.processes[name].start().wait_ready(timeout=60)

    def ready(self, name: str) -> bool:
        import urllib.request

        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{self.processes[name].ops_url}/readyz", timeout=1) as r,  # noqa: S310
        ):
            return bool(r.status == 200)
        return False

    def stop(self) -> None:
        super().stop()
        self.pg.stop()


async def start_faulty_system(workdir: Path, **env: str) -> FaultySystem:
    import asyncio

    (workdir / "pg").mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(workdir / "pg", "pgserver")
    pg = KillablePostgres(workdir / "pg")
    await asyncio.to_thread(pg.start)
    await create_database(pg.url, "helpdesk")
    system = FaultySystem(workdir, pg, {**FAST_RECOVERY_ENV, **env})
    try:
        await asyncio.to_thread(system.start)
    except BaseException:
        await asyncio.to_thread(system.stop)
        raise
    return system

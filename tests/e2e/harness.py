"""The whole helpdesk as real processes for end-to-end tests: every service
from `python -m helpdesk.<service>`, on the test NATS and PostgreSQL (in a
database of its own), with an SMTP sink that stores each mail as a file."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from helpdesk.devstack.keys import generate_keypair
from helpdesk.devstack.processes import ServiceProcess, available_services, service_environment
from helpdesk.devstack.servers import MailSink, MailSinkProcess, NatsServer, free_port
from helpdesk.servicekit import sealing
from tests.servers import Servers

REOPEN_DAYS = 0.0001


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def create_database(url: str, database: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def mail_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


class System:
    def __init__(
        self,
        workdir: Path,
        servers: Servers,
        database_url: str,
        *,
        mail_process: bool = False,
        replicas: int = 1,
        extra_env: dict[str, str] | None = None,
        gateway_port: int | None = None,
    ) -> None:
        self.workdir = workdir
        # A NATS of its own: durable consumers must not see other tests' events. Same
        # identities and authorization as the shared test server.
        self.nats = NatsServer(
            workdir / "nats",
            log_file=workdir / "logs" / "nats.log",
            config_file=servers.auth_config,
        )
        self.servers = dataclasses.replace(
            servers, nats_url=self.nats.url, database_url=database_url, nats=self.nats
        )
        sink = MailSinkProcess if mail_process else MailSink
        self.mail = sink(workdir / "mail")
        # Chosen by the caller when a setting must name it (docs/sso.md: passkeys' origin).
        self.gateway_port = gateway_port or free_port()
        self.mailgate_port = free_port()
        self.private_key, self.public_key = generate_keypair()
        self.seal_private_key, self.seal_public_key = sealing.generate()
        self.env = (
            service_environment(
                nats_url=self.nats.url,
                database_url=database_url,
                smtp_host="127.0.0.1",
                smtp_port=self.mail.port,
                public_url=f"http://127.0.0.1:{self.gateway_port}",
                jwt_private_key=self.private_key,
                jwt_public_key=self.public_key,
                notifier_seal_private_key=self.seal_private_key,
                notifier_seal_public_key=self.seal_public_key,
                oncall_email="oncall@helpdesk.example",
                mailgate_smtp_port=self.mailgate_port,
            )
            | {
                # The password flows' tests sign agents and admins in on a password alone;
                # tests/sso turns the production default (agent,admin) back on (docs/sso.md).
                "HELPDESK_MFA_REQUIRED_ROLES": "",
                # A reopen window of 8.6 s, so that a test sees a requester's reopen
                # both allowed and, a moment later, refused (docs/workspace.md).
                "HELPDESK_REOPEN_DAYS": str(REOPEN_DAYS),
            }
            | (extra_env or {})
        )
        # Replica n > 1 of a service is keyed "<service>-<n>" (its log file too). The
        # mail gateway runs once: its replicas would share one listening port here.
        self.processes: dict[str, ServiceProcess] = {}
        for name in available_services():
            count = 1 if name == "mailgate" else replicas
            for n in range(1, count + 1):
                key = name if n == 1 else f"{name}-{n}"
                port = self.gateway_port if key == "gateway" else free_port()
                self.processes[key] = ServiceProcess(
                    name,
                    port,
                    self.env,
                    workdir / "logs" / f"{key}.log",
                    nats_creds=servers.nats_keys[name],
                    ops_port=free_port() if name == "gateway" else None,
                )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def gateway_urls(self) -> list[str]:
        return [p.url for p in self.processes.values() if p.name == "gateway"]

    def replicas_of(self, service: str) -> dict[str, ServiceProcess]:
        return {k: p for k, p in self.processes.items() if p.name == service}

    def start(self) -> System:
        """Every server and service, ready; if one fails, what was started is stopped
        (a failed start used to leave the services running for good)."""
        try:
            self.nats.start()
            self.mail.start()
            for process in self.processes.values():
                process.start()
            for process in self.processes.values():
                process.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.mail.stop()
        self.nats.stop()

    def restart(self, name: str) -> None:
        self.processes[name].stop()
        self.processes[name].start().wait_ready()

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mail.messages() if address.lower() in str(m["To"]).lower()]

    def wait_for_mail(
        self,
        to: str,
        predicate: Callable[[EmailMessage], bool] = lambda _: True,
        timeout: float = 15.0,
    ) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.mails_to(to):
                if predicate(message):
                    return message
            time.sleep(0.05)
        seen = [str(m["Subject"]) for m in self.mails_to(to)]
        raise TimeoutError(f"no matching mail to {to} within {timeout}s; got {seen}")


async def start_system(
    workdir: Path,
    servers: Servers,
    *,
    mail_process: bool = False,
    replicas: int = 1,
    extra_env: dict[str, str] | None = None,
    gateway_port: int | None = None,
) -> System:
    """Every service as `replicas` processes (the second of each keyed "<name>-2")."""
    database = f"e2e_{uuid.uuid4().hex[:8]}"
    await create_database(servers.database_url, database)
    system = System(
        workdir,
        servers,
        with_database(servers.database_url, database),
        mail_process=mail_process,
        replicas=replicas,
        extra_env=extra_env,
        gateway_port=gateway_port,
    )
    await asyncio.to_thread(system.start)
    return system

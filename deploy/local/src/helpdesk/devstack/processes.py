"""The helpdesk services as child processes (`python -m helpdesk.<service>`)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from helpdesk.servicekit.privacy import KeyEncryptionKeys

SERVICES = ("identity", "tickets", "notifier", "mailgate", "gateway")
# Secrets only one service may hold: the others start without them.
PRIVATE_TO = {
    "HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY": "notifier",
    "HELPDESK_NOTIFIER_SEAL_PREVIOUS_PRIVATE_KEY": "notifier",
}
# Secrets every service but these holds: the gateway and the mailgate never open
# sealed personal data (docs/privacy.md).
WITHHELD_FROM = {"HELPDESK_PRIVACY_KEK": ("gateway", "mailgate")}


def available_services() -> list[str]:
    """The services installed in this environment, in start order."""
    return [s for s in SERVICES if importlib.util.find_spec(f"helpdesk.{s}.__main__") is not None]


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    # This service's NKEY seed file (HELPDESK_NATS_CREDS): each process its own identity.
    nats_creds: Path | None = None
    # Where /healthz, /readyz and /metrics are, if not on `port` (the gateway's
    # HELPDESK_OPS_PORT: never served on its public port).
    ops_port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ops_url(self) -> str:
        return f"http://127.0.0.1:{self.ops_port or self.port}"

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "HELPDESK_HTTP_PORT": str(self.port)}
        for name, holder in PRIVATE_TO.items():
            if holder != self.name:
                env.pop(name, None)
        for name, kept_from in WITHHELD_FROM.items():
            if self.name in kept_from:
                env.pop(name, None)
        if self.ops_port is not None:
            env["HELPDESK_OPS_PORT"] = str(self.ops_port)
        if self.nats_creds is not None:
            env["HELPDESK_NATS_CREDS"] = str(self.nats_creds)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"helpdesk.{self.name}"],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C in the terminal reaches the stack, not each child
        )
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.ops_url}/readyz", timeout=1) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready on {self.ops_url} after {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


def service_environment(
    *,
    nats_url: str,
    database_url: str,
    smtp_host: str,
    smtp_port: int,
    public_url: str,
    jwt_private_key: str,
    jwt_public_key: str,
    notifier_seal_private_key: str,
    notifier_seal_public_key: str,
    oncall_email: str = "oncall@helpdesk.example",
    mail_from: str = "IPtech Helpdesk <helpdesk@helpdesk.example>",
    log_format: str = "json",
    mail_reply_key: str = "",
    mailgate_smtp_port: int = 2525,
    privacy_kek: str = "",
) -> dict[str, str]:
    """The DESIGN.md §5 variables every service reads."""
    return {
        "HELPDESK_NATS_URL": nats_url,
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_SMTP_HOST": smtp_host,
        "HELPDESK_SMTP_PORT": str(smtp_port),
        "HELPDESK_MAIL_FROM": mail_from,
        "HELPDESK_PUBLIC_URL": public_url,
        "HELPDESK_JWT_PRIVATE_KEY": jwt_private_key,
        "HELPDESK_JWT_PUBLIC_KEY": jwt_public_key,
        # Mail tokens travel sealed: identity seals, only the notifier opens (PRIVATE_TO).
        "HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY": notifier_seal_public_key,
        "HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY": notifier_seal_private_key,
        "HELPDESK_ONCALL_EMAIL": oncall_email,
        "HELPDESK_LOG_FORMAT": log_format,
        # The mail channel (docs/mail.md): where employees write, the key that signs
        # the reply addresses (mailgate and notifier), the mailgate's SMTP listener.
        "HELPDESK_SUPPORT_ADDRESSES": parseaddr(mail_from)[1],
        "HELPDESK_MAIL_REPLY_KEY": mail_reply_key or secrets.token_hex(32),
        "HELPDESK_MAILGATE_SMTP_PORT": str(mailgate_smtp_port),
        "HELPDESK_MAILGATE_SMTP_HOST": "127.0.0.1",
        # Wraps the keys that seal personal data (docs/privacy.md): identity's, tickets',
        # the notifier's.
        "HELPDESK_PRIVACY_KEK": privacy_kek or KeyEncryptionKeys.generate(),
    }

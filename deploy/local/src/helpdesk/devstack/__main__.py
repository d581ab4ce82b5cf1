"""`make run`: the whole helpdesk on this machine.

Starts NATS with JetStream, PostgreSQL and an SMTP sink (mail lands in
var/mail/*.eml) unless HELPDESK_NATS_URL / HELPDESK_DATABASE_URL /
HELPDESK_SMTP_HOST name existing servers; then every service; prints where
the portal and API are; Ctrl-C stops every process it started. State lives
under var/, so data survives a restart. NATS runs with authentication: each
service has its own NKEY seed in var/nats-keys/ (the operator CLI uses
var/nats-keys/operator.nk), and the server's authorization block is rendered
to var/nats-auth.conf at every start.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from helpdesk.devstack.keys import (
    load_or_create_keypair,
    load_or_create_mail_reply_key,
    load_or_create_nats_keys,
    load_or_create_privacy_kek,
    load_or_create_seal_keys,
)
from helpdesk.devstack.logs import retention_days, rotate_logs
from helpdesk.devstack.processes import ServiceProcess, available_services, service_environment
from helpdesk.devstack.servers import MailSink, NatsServer, PostgresServer, free_port

SERVICE_PORTS = {
    "gateway": 8080,
    "identity": 8081,
    "tickets": 8082,
    "notifier": 8083,
    "mailgate": 8084,
}


def port_or_free(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def wait_for_stop(started: Sequence[ServiceProcess], poll_seconds: float = 0.5) -> None:
    """Until Ctrl-C or SIGTERM, or until a service exits.

    The signal handler only appends to a list: it must take no lock. It used to
    set a `threading.Event` that the main thread was waiting on, and a second
    signal arriving while the first handler held the Event's lock (Ctrl-C
    reaches both make and us, and a TERM to make is passed on) deadlocked the
    stack with every service still running. The handler stays installed while
    the services are being stopped, so another Ctrl-C cannot cut that short."""
    asked: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _frame: asked.append(received))
    while not asked:
        time.sleep(poll_seconds)
        for process in started:
            if process.process is not None and process.process.poll() is not None:
                print(f"{process.name} exited; see {process.log_path}", file=sys.stderr)
                return


def main() -> int:
    var = Path(os.environ.get("HELPDESK_VAR_DIR", "var")).resolve()
    rotate_logs(var / "logs", retention_days(), datetime.now(UTC))
    stoppers: list[object] = []
    started: list[ServiceProcess] = []
    try:
        seeds = load_or_create_nats_keys(var / "nats-keys", var / "nats-auth.conf")
        nats_url = os.environ.get("HELPDESK_NATS_URL")
        if nats_url:
            print(f"Using {nats_url}; include {var / 'nats-auth.conf'} in its configuration")
        else:
            nats = NatsServer(
                var / "nats",
                port_or_free(4222),
                log_file=var / "logs" / "nats.log",
                config_file=var / "nats-auth.conf",
            )
            nats.start()
            stoppers.append(nats)
            nats_url = nats.url
        database_url = os.environ.get("HELPDESK_DATABASE_URL")
        if not database_url:
            pg = PostgresServer(var / "pg", keep=True).start()
            stoppers.append(pg)
            database_url = pg.url
        smtp_host = os.environ.get("HELPDESK_SMTP_HOST")
        smtp_port = int(os.environ.get("HELPDESK_SMTP_PORT", "25"))
        if not smtp_host:
            sink = MailSink(var / "mail", port_or_free(1025)).start()
            stoppers.append(sink)
            smtp_host, smtp_port = "127.0.0.1", sink.port

        gateway_port = int(os.environ.get("HELPDESK_HTTP_PORT") or port_or_free(8080))
        ops_port = int(os.environ.get("HELPDESK_OPS_PORT") or port_or_free(8090))
        public_url = os.environ.get("HELPDESK_PUBLIC_URL", f"http://127.0.0.1:{gateway_port}")
        private_key, public_key = load_or_create_keypair(var / "keys")
        seal_private, seal_public = load_or_create_seal_keys(var / "keys")
        mailgate_port = int(os.environ.get("HELPDESK_MAILGATE_SMTP_PORT") or port_or_free(2525))
        env = service_environment(
            nats_url=nats_url,
            database_url=database_url,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            public_url=public_url,
            jwt_private_key=os.environ.get("HELPDESK_JWT_PRIVATE_KEY", private_key),
            jwt_public_key=os.environ.get("HELPDESK_JWT_PUBLIC_KEY", public_key),
            notifier_seal_private_key=os.environ.get(
                "HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY", seal_private
            ),
            notifier_seal_public_key=os.environ.get(
                "HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY", seal_public
            ),
            oncall_email=os.environ.get("HELPDESK_ONCALL_EMAIL", "oncall@helpdesk.example"),
            log_format=os.environ.get("HELPDESK_LOG_FORMAT", "json"),
            mail_reply_key=os.environ.get("HELPDESK_MAIL_REPLY_KEY")
            or load_or_create_mail_reply_key(var / "keys"),
            mailgate_smtp_port=mailgate_port,
            privacy_kek=os.environ.get("HELPDESK_PRIVACY_KEK")
            or load_or_create_privacy_kek(var / "keys"),
        )
        for name in available_services():
            port = gateway_port if name == "gateway" else port_or_free(SERVICE_PORTS[name])
            process = ServiceProcess(
                name,
                port,
                env,
                var / "logs" / f"{name}.log",
                nats_creds=seeds[name],
                ops_port=ops_port if name == "gateway" else None,
            ).start()
            started.append(process)
        for process in started:
            process.wait_ready(60)

        print(
            f"""
Helpdesk is running.
  Portal (Greek):   {public_url}/helpdesk/el/
  Portal (English): {public_url}/helpdesk/en/
  REST API:         {public_url}/api/v1   (OpenAPI: {public_url}/docs)
  Mail sink:        {var / "mail"}/*.eml
  Mail in (SMTP):   127.0.0.1:{mailgate_port}   (write to {env["HELPDESK_SUPPORT_ADDRESSES"]})
  Logs:             {var / "logs"}/
  Gateway ops:      http://127.0.0.1:{ops_port}/metrics  (/healthz, /readyz; not public)
  NATS:             {nats_url}
  Operator CLI:     HELPDESK_NATS_URL={nats_url} HELPDESK_NATS_CREDS={seeds["operator"]} \\
                    .venv/bin/helpdesk …
Press Ctrl-C to stop.""",
            flush=True,
        )
        wait_for_stop(started)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"make run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping…", flush=True)
        for process in reversed(started):
            process.stop()
        for server in reversed(stoppers):
            server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    raise SystemExit(main())

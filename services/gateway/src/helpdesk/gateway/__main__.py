"""`python -m helpdesk.gateway`: the API and portal on HELPDESK_HTTP_PORT, and
health, readiness and metrics on HELPDESK_OPS_PORT (never on the public port)."""

from __future__ import annotations

import asyncio
import signal

import uvloop

from helpdesk.gateway.bootstrap import create_app, create_ops_app
from helpdesk.gateway.settings import Settings
from helpdesk.servicekit.logging import configure_logging
from helpdesk.servicekit.runtime import http_server
from helpdesk.servicekit.settings import load_settings


async def serve(settings: Settings) -> None:
    app = create_app(settings)
    # The client address comes from X-Forwarded-For only when the peer is one of
    # FORWARDED_ALLOW_IPS (uvicorn's default: 127.0.0.1): docs/security.md.
    public = http_server(app, settings.http_port, proxy_headers=True)
    ops = http_server(create_ops_app(app), settings.ops_port, lifespan="off")

    def stop() -> None:
        public.should_exit = ops.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    # One ending (a signal, a port already taken) ends the other.
    serving = asyncio.ensure_future(public.serve())
    operating = asyncio.ensure_future(ops.serve())
    await asyncio.wait({serving, operating}, return_when=asyncio.FIRST_COMPLETED)
    stop()
    await asyncio.gather(serving, operating)


def main() -> None:
    settings = load_settings(Settings)
    configure_logging("gateway", settings.log_format)
    uvloop.run(serve(settings))  # the services' loop too: less CPU per request


if __name__ == "__main__":
    main()

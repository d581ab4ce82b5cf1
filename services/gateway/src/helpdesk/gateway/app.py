"""The gateway: the public REST API (/api/v1) and the web portal, translating
HTTP to commands over NATS. It holds no state of its own."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import nats
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk.contracts.subjects import CORRELATION_HEADER
from helpdesk.gateway import portal
from helpdesk.gateway.limits import BodyLimitMiddleware
from helpdesk.gateway.problems import install_problem_handlers
from helpdesk.gateway.routes.attachments import connect_storage
from helpdesk.gateway.settings import Settings
from helpdesk.servicekit.logging import bind_correlation_id, get_logger
from helpdesk.servicekit.ops import ops_app
from helpdesk.servicekit.runtime import freeze_startup_objects

log = get_logger(__name__)


async def _connect_nats(app: FastAPI, settings: Settings) -> None:
    # Keep trying in the background: until NATS answers, commands get 503.
    while True:
        try:
            app.state.nats = await nats.connect(
                settings.nats_url,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                name="gateway",
                **settings.nats_options("gateway"),  # its own NKEY (docs/security.md)
            )
            log.info("connected to NATS")
            await connect_storage(app, settings)
            return
        except Exception as exc:
            log.warning("NATS not reachable yet", error=repr(exc))
            await asyncio.sleep(1.0)


_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class CorrelationIdMiddleware:
    """Binds the request's correlation id (the client's, if well-formed, else a
    new one) to logs, `request.state` and the response header. Plain ASGI:
    FastAPI's `@app.middleware` wrapper costs more than the rest of a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get(CORRELATION_HEADER, "")
        correlation_id = offered if _CORRELATION_ID.fullmatch(offered) else str(uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        bind_correlation_id(correlation_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.nats = None
        connecting = asyncio.create_task(_connect_nats(app, settings))
        freeze_startup_objects()
        yield
        connecting.cancel()
        if app.state.nats is not None:
            await app.state.nats.drain()

    app = FastAPI(
        title="Helpdesk API",
        version="1.0",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.nats = None
    install_problem_handlers(app)

    app.add_middleware(
        BodyLimitMiddleware, file_route_max_bytes=settings.attachment_request_max_bytes
    )
    app.add_middleware(CorrelationIdMiddleware)  # outermost: the 413 carries the id too

    _include_routes(app)
    return app


def create_ops_app(app: FastAPI) -> FastAPI:
    """/healthz, /readyz and /metrics of the public `app`, served on HELPDESK_OPS_PORT:
    readiness details and metrics are for the cluster, not for the internet."""

    async def nats_ready() -> bool:
        return app.state.nats is not None and bool(app.state.nats.is_connected)

    return ops_app([("nats", nats_ready)])


def _include_routes(app: FastAPI) -> None:
    # One line per route module; each module owns its part of /api/v1 or the portal.
    # Starlette tries routes in order, each included router in full (no prefix
    # short-cut): the API first, tickets first, so a submit is matched in ~5 µs,
    # not after every portal route (~100 µs). The two trees share no path.
    from helpdesk.gateway.routes import accounts, agents, attachments, reports, tickets

    app.include_router(tickets.router)
    app.include_router(accounts.router)
    app.include_router(attachments.router)
    app.include_router(agents.router)
    app.include_router(reports.router)
    portal.install(app)

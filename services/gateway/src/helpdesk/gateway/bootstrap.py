"""The gateway's composition root: the one `Gateway` its routes depend on
(`deps.py`), the connection to NATS and the attachments' store behind it, the
middleware, and the routes of the REST API and the portal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from fastapi import FastAPI

from helpdesk.gateway import portal
from helpdesk.gateway.correlation import CorrelationIdMiddleware
from helpdesk.gateway.deps import Gateway
from helpdesk.gateway.limits import BodyLimitMiddleware
from helpdesk.gateway.openapi import install_openapi, operation_id
from helpdesk.gateway.problems import install_problem_handlers
from helpdesk.gateway.routes import (
    accounts,
    agents,
    attachments,
    export,
    factors,
    privacy,
    reports,
    tickets,
    webhooks,
)
from helpdesk.gateway.settings import Settings
from helpdesk.servicekit.blobs import NatsBlobStore
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.ops import ops_app
from helpdesk.servicekit.runtime import freeze_startup_objects

log = get_logger(__name__)


async def connect(gateway: Gateway) -> None:
    """Connect to NATS, retrying in the background: until it answers, commands get 503."""
    settings = gateway.settings
    while True:
        try:
            gateway.nats = await nats.connect(
                settings.nats_url,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                name="gateway",
                **settings.nats_options("gateway"),  # its own NKEY (docs/security.md)
            )
            log.info("connected to NATS")
            await connect_storage(gateway)
            return
        except Exception as exc:
            log.warning("NATS not reachable yet", error=repr(exc))
            await asyncio.sleep(1.0)


async def connect_storage(gateway: Gateway) -> None:
    """The blob store on the gateway's NATS connection; the bucket made if missing."""
    assert gateway.nats is not None
    blobs = NatsBlobStore(gateway.nats.jetstream())
    try:
        await blobs.ensure(gateway.settings.nats_stream_replicas)
    except Exception as exc:  # declared by another user of the bucket, or later
        log.warning("attachments bucket not declared", error=repr(exc))
    gateway.blobs = blobs


def create_app(settings: Settings) -> FastAPI:
    gateway = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        connecting = asyncio.create_task(connect(gateway))
        freeze_startup_objects()
        yield
        connecting.cancel()
        if gateway.nats is not None:
            await gateway.nats.drain()

    app = FastAPI(
        title="Helpdesk API",
        version="1.0",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
        generate_unique_id_function=operation_id,
    )
    app.state.gateway = gateway  # read only by deps.gateway_of
    install_problem_handlers(app)

    app.add_middleware(
        BodyLimitMiddleware, file_route_max_bytes=settings.attachment_request_max_bytes
    )
    app.add_middleware(CorrelationIdMiddleware)  # outermost: the 413 carries the id too

    # One line per route module; each module owns its part of /api/v1 or the portal.
    # Starlette tries routes in order, each included router in full (no prefix
    # short-cut): the API first, tickets first, so a submit is matched in ~5 µs,
    # not after every portal route (~100 µs). The two trees share no path.
    app.include_router(tickets.router)
    app.include_router(accounts.router)
    app.include_router(factors.router)
    app.include_router(attachments.router)
    app.include_router(agents.router)
    app.include_router(reports.router)
    app.include_router(webhooks.router)
    app.include_router(export.router)
    app.include_router(privacy.router)
    portal.install(app)
    install_openapi(app)
    return app


def create_ops_app(app: FastAPI) -> FastAPI:
    """/healthz, /readyz and /metrics of the public `app`, served on HELPDESK_OPS_PORT:
    readiness details and metrics are for the cluster, not for the internet."""
    gateway: Gateway = app.state.gateway

    async def nats_ready() -> bool:
        return gateway.nats is not None and bool(gateway.nats.is_connected)

    return ops_app([("nats", nats_ready)])

"""The runtime every service runs on.

A service describes itself once, in its `bootstrap.py`, as a `Service`: its
name, settings, migrations, whether it publishes events, and `build`, the one
function that wires its handlers, consumers and projections onto a
`ServiceContext`. `run(service)` reads the settings, connects PostgreSQL
(migrating the service's schema) and NATS (declaring the streams), calls
`build`, then runs the broker, the outbox relay and the ops HTTP server until
SIGTERM. Services are found by the `helpdesk.services` entry point (`services()`),
so tools such as the AsyncAPI generator never name them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from importlib.resources import files
from typing import Any, Generic, TypeVar
from uuid import uuid4

import asyncpg
import nats.js.errors
import structlog
import uvicorn
import uvloop
from faststream import BaseMiddleware
from faststream.message import StreamMessage
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from helpdesk.contracts import admin, subjects
from helpdesk.contracts.replies import Refused
from helpdesk.servicekit import consumer as consumers
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.servicekit.handlers import Handlers, router
from helpdesk.servicekit.logging import bind_correlation_id, configure_logging, get_logger
from helpdesk.servicekit.nats_auth import inbox_prefix
from helpdesk.servicekit.ops import ops_app
from helpdesk.servicekit.projections import Projection, rebuild
from helpdesk.servicekit.relay import OutboxRelay, watch_outbox
from helpdesk.servicekit.retention import keep_inbox_pruned
from helpdesk.servicekit.settings import ServiceSettings, load_settings

log = get_logger(__name__)

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

ENTRY_POINT_GROUP = "helpdesk.services"


def freeze_startup_objects() -> None:
    """Move everything allocated at start (modules, models, templates: ~100k
    objects) out of the collector's reach: a full collection then scans only
    what requests allocate, instead of pausing the event loop for ~80 ms."""
    gc.collect()
    gc.freeze()


def current_correlation_id() -> str:
    """The correlation id of the message being handled (a new one if none)."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value else str(uuid4())


class CorrelationMiddleware(BaseMiddleware):
    """Binds the correlation id carried in NATS headers to every log line."""

    async def consume_scope(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        bind_correlation_id(msg.headers.get(subjects.CORRELATION_HEADER) or msg.correlation_id)
        return await call_next(msg)


@dataclass
class ServiceContext(Generic[SettingsT]):
    """What a service's `build` function wires its handlers from."""

    name: str
    settings: SettingsT
    pool: asyncpg.Pool
    broker: NatsBroker
    nats: NatsClient
    js: JetStreamContext
    store: EventStore = field(default_factory=EventStore)
    consumers: list[EventConsumer] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)

    def serve(self, handlers: Handlers) -> None:
        """Serve each `{RequestType: handler}` on the subject its contract names."""
        self.broker.include_router(router(self.name, handlers))

    def consume(self, consumer: EventConsumer) -> None:
        self.consumers.append(consumer)
        consumers.subscribe(self.broker, self.pool, consumer, inbox_prefix(self.name))


async def ensure_stream(js: JetStreamContext, name: str, replicas: int) -> None:
    """Create or update a stream; safe to run from several replicas at once."""
    config = StreamConfig(
        name=name,
        subjects=[subjects.STREAMS[name]],
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=120.0,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        # It exists with another configuration: bring it to ours.
        await js.update_stream(config)


def register_admin_handlers(ctx: ServiceContext[Any]) -> None:
    """The operator commands behind the `helpdesk` CLI."""

    async def list_dead_letters(_: admin.ListDeadLetters) -> admin.DeadLetters:
        return admin.DeadLetters(items=await consumers.list_dead_letters(ctx.pool))

    async def redrive(request: admin.RedriveDeadLetter) -> admin.Redriven:
        try:
            found = await consumers.redrive(ctx.pool, ctx.consumers, request.id)
        except Exception as exc:
            raise Refused(
                f"the handler failed again: {type(exc).__name__}", code="redrive_failed"
            ) from None
        if not found:
            raise Refused(f"no dead letter {request.id}", code="not_found")
        return admin.Redriven(id=request.id)

    async def rebuild_projections(_: admin.RebuildProjections) -> admin.ProjectionsRebuilt:
        counts = {p.name: await rebuild(ctx.pool, p) for p in ctx.projections}
        return admin.ProjectionsRebuilt(events=counts)

    ctx.serve(
        {
            admin.ListDeadLetters: list_dead_letters,
            admin.RedriveDeadLetter: redrive,
            admin.RebuildProjections: rebuild_projections,
        }
    )


@dataclass(frozen=True)
class Service(Generic[SettingsT]):
    """What the runtime needs to know of a service; declared in its `bootstrap.py`."""

    name: str
    settings: type[SettingsT]
    build: Callable[[ServiceContext[SettingsT]], Awaitable[None] | None]
    migrations: str | None = None  # the package holding the schema's SQL files
    publishes_events: bool = False  # owns a stream: runs the outbox relay

    @property
    def stream(self) -> str | None:
        return subjects.stream_name(self.name) if self.publishes_events else None


def services() -> dict[str, Service[Any]]:
    """Every installed service, by name (the `helpdesk.services` entry points)."""
    found: dict[str, Service[Any]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        service = point.load()
        if not isinstance(service, Service):
            raise TypeError(f"entry point {point.value} is not a Service")
        found[service.name] = service
    return dict(sorted(found.items()))


class _OpsServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run(service: Service[SettingsT]) -> None:
    name = service.name
    settings = load_settings(service.settings)
    configure_logging(name, settings.log_format)
    packages = [files(KIT_MIGRATIONS)] + ([files(service.migrations)] if service.migrations else [])
    pool = await create_pool(settings.database_url, name)
    await apply_migrations(pool, name, migration_files(*packages))

    broker = NatsBroker(
        settings.nats_url,
        middlewares=[CorrelationMiddleware],
        logger=None,
        name=name,
        **settings.nats_options(name),  # its own NKEY and reply inbox (docs/security.md)
    )
    nc = await broker.connect()
    js = nc.jetstream()
    for stream in subjects.STREAMS:
        # Declared by every service so consumers can bind whichever starts first.
        await ensure_stream(js, stream, settings.nats_stream_replicas)

    ctx = ServiceContext(name=name, settings=settings, pool=pool, broker=broker, nats=nc, js=js)
    built = service.build(ctx)
    if built is not None:
        await built
    register_admin_handlers(ctx)
    await broker.start()

    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(keep_inbox_pruned(pool), name="inbox-retention")
    ]
    relay: OutboxRelay | None = None
    if service.publishes_events:
        relay = OutboxRelay(settings.database_url, name, js)
        tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        tasks.append(asyncio.create_task(watch_outbox(pool, name), name="outbox-watch"))

    async def database_ready() -> bool:
        return bool(await pool.fetchval("SELECT true"))

    async def nats_ready() -> bool:
        return nc.is_connected

    app = ops_app([("database", database_ready), ("nats", nats_ready)])
    server = _OpsServer(
        uvicorn.Config(
            app,
            host="0.0.0.0",
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    tasks.append(asyncio.create_task(server.serve(), name="ops-http"))
    freeze_startup_objects()
    log.info("service started", http_port=settings.http_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    log.info("service stopping")
    server.should_exit = True
    for task in tasks:
        if task.get_name() != "ops-http":
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await broker.stop()
    await pool.close()


def main(service: Service[Any]) -> None:
    """`python -m helpdesk.<service>`: run it on uvloop (a faster loop, same asyncio code)."""
    uvloop.run(run(service))


__all__: Sequence[str] = [
    "Service",
    "ServiceContext",
    "current_correlation_id",
    "ensure_stream",
    "main",
    "run",
    "services",
]

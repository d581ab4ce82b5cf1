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
import logging
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from importlib.resources import files
from typing import Any, Generic, TypeVar, cast
from uuid import uuid4

import asyncpg
import nats.js.errors
import structlog
import uvicorn
import uvloop
from faststream import BaseMiddleware
from faststream.message import StreamMessage
from faststream.nats import NatsBroker, NatsNKey
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from starlette.types import ASGIApp

from helpdesk.contracts import admin, subjects
from helpdesk.contracts.replies import Refused
from helpdesk.servicekit import access_tokens, keystore
from helpdesk.servicekit import consumer as consumers
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.servicekit.handlers import Handlers, TokenVerifier, router
from helpdesk.servicekit.logging import (
    bind_correlation_id,
    configure_logging,
    get_logger,
    quiet_idle_fetch_timeouts,
)
from helpdesk.servicekit.loops import every, kind_of, repeat
from helpdesk.servicekit.nats_auth import inbox_prefix
from helpdesk.servicekit.ops import Degradation, ops_app
from helpdesk.servicekit.privacy import KeyEncryptionKeys
from helpdesk.servicekit.projections import Projection, rebuild
from helpdesk.servicekit.relay import OutboxRelay, watch_outbox
from helpdesk.servicekit.remote_keys import RemoteKeyRing
from helpdesk.servicekit.retention import keep_inbox_pruned
from helpdesk.servicekit.settings import (
    ConfigurationError,
    PersonalDataSettings,
    ServiceSettings,
    load_settings,
)

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
    # Every handler a dead letter can be re-driven through; `subscribed` are the
    # ones that also pull from a stream (some re-drive handlers pull nothing).
    consumers: list[EventConsumer] = field(default_factory=list)
    subscribed: list[EventConsumer] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)
    loops: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = field(default_factory=list)
    starting: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    degradations: list[Degradation] = field(default_factory=list)
    # Proves the actor of requests that name one (see handlers.prove_actor).
    verify_token: TokenVerifier | None = None

    def background(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `loop()` as a task from start to shutdown; if it ever ends, the
        service reports itself unhealthy (/healthz) so it gets restarted."""
        self.loops.append((name, loop))

    def periodically(
        self, name: str, step: Callable[[], Awaitable[object]], seconds: float
    ) -> None:
        """Run `step()` every `seconds` from start to shutdown (a background loop);
        a failed pass is logged by its error's kind and the next one comes anyway."""
        self.background(
            name,
            lambda: repeat(step, pause=every(seconds), failed=f"{name} failed", error_of=kind_of),
        )

    def at_start(self, step: Callable[[], Awaitable[object]]) -> None:
        """Run `step()` once before the service takes its first message (`build`
        itself only wires: the AsyncAPI generator calls it with no servers)."""
        self.starting.append(step)

    def degraded_when(self, name: str, check: Callable[[], str | None]) -> None:
        """Report `check()`'s text in /readyz as degraded (still ready) while it is not None."""
        self.degradations.append((name, check))

    def serve(self, handlers: Handlers) -> None:
        """Serve each `{RequestType: handler}` on the subject its contract names."""
        self.broker.include_router(router(self.name, handlers, self.verify_token))

    def consume(self, consumer: EventConsumer) -> None:
        self.consumers.append(consumer)
        self.subscribed.append(consumer)
        consumers.subscribe(self.broker, self.pool, consumer, inbox_prefix(self.name))


@dataclass(frozen=True)
class Retention:
    """How long a stream keeps an event, and how many bytes at most (the oldest go
    first). The streams are a transport, not the record (the event stores are):
    they keep events long enough for a consumer to come back from an outage."""

    max_age_days: int
    max_bytes: int


GIB = 1024**3
# docs/operations.md, "Stream retention": IDENTITY carries sealed mail tokens and
# personal data, so it keeps a week (a token lives 48 h at most); TICKETS a month.
RETENTION: dict[str, Retention] = {
    "IDENTITY": Retention(max_age_days=7, max_bytes=1 * GIB),
    "TICKETS": Retention(max_age_days=30, max_bytes=10 * GIB),
}


async def ensure_stream(js: JetStreamContext, name: str, replicas: int) -> None:
    """Create or update a stream; safe to run from several replicas at once."""
    retention = RETENTION[name]
    config = StreamConfig(
        name=name,
        subjects=[subjects.STREAMS[name]],
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=120.0,
        max_age=retention.max_age_days * 86400.0,  # seconds (nats-py sends nanoseconds)
        max_bytes=retention.max_bytes,
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

    async def reseal_events(_: admin.ResealEvents) -> admin.EventsResealed:
        events, values = await ctx.store.reseal(ctx.pool)
        log.info("stored events resealed", events=events, values=values)
        return admin.EventsResealed(events=events, values=values)

    async def rebuild_projections(_: admin.RebuildProjections) -> admin.ProjectionsRebuilt:
        counts = {p.name: await rebuild(ctx.pool, p, store=ctx.store) for p in ctx.projections}
        return admin.ProjectionsRebuilt(events=counts)

    ctx.serve(
        {
            admin.ListDeadLetters: list_dead_letters,
            admin.RedriveDeadLetter: redrive,
            admin.RebuildProjections: rebuild_projections,
            admin.ResealEvents: reseal_events,
        }
    )


@dataclass(frozen=True)
class Service(Generic[SettingsT]):
    """What the runtime needs to know of a service; declared in its `bootstrap.py`."""

    name: str
    settings: type[SettingsT]
    build: Callable[[ServiceContext[SettingsT]], Awaitable[None] | None]
    migrations: str | None = None  # the package holding the schema's SQL files
    # Identity's: the keystore of crypto-shredding lives in its database, and it
    # answers the other services' GetDataKeys (docs/privacy.md).
    owns_keystore: bool = False
    publishes_events: bool = False  # owns a stream: runs the outbox relay
    # The PEM of identity's public key, from the settings: for services whose
    # commands name an actor (the caller's token is checked against it).
    actor_key: Callable[[SettingsT], str] | None = None

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


class HttpServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def http_server(app: ASGIApp, port: int, **options: Any) -> HttpServer:
    """A server on every interface of `port` whose logs go through structlog (uvicorn's
    own logging and access log off): the ops port of every service, and the gateway's
    public port (`options` adds to uvicorn's `Config`)."""
    config = uvicorn.Config(
        app, host="0.0.0.0", port=port, log_config=None, access_log=False, **options
    )
    return HttpServer(config)


async def run(service: Service[SettingsT]) -> None:
    name = service.name
    settings = load_settings(service.settings)
    keks: KeyEncryptionKeys | None = None
    if isinstance(settings, PersonalDataSettings):
        try:
            keks = settings.key_encryption_keys()
        except ConfigurationError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    configure_logging(name, settings.log_format)
    packages = [files(KIT_MIGRATIONS)] + ([files(service.migrations)] if service.migrations else [])
    pool = await create_pool(settings.database_url, name)
    await apply_migrations(pool, name, migration_files(*packages))
    store: keystore.Keystore | None = None
    if service.owns_keystore and keks is not None:
        await keystore.ensure_keystore(pool)
        store = keystore.Keystore(keks)
        keystore.configure(keystore.local(store))
        # A rotation: a new key first in HELPDESK_PRIVACY_KEK, the old ones after it.
        # Keys still wrapped by an old one are wrapped by the new one now; once none
        # is left, the old ones may leave the setting (docs/privacy.md).
        async with pool.acquire() as conn:
            rewrapped = await store.rewrap(conn)
        if rewrapped:
            log.info("data keys rewrapped with the current key-encryption key", keys=rewrapped)

    broker = create_broker(settings, name)
    nc = await broker.connect()
    js = nc.jetstream()
    for stream in subjects.STREAMS:
        # Declared by every service so consumers can bind whichever starts first.
        await ensure_stream(js, stream, settings.nats_stream_replicas)

    ctx = ServiceContext(name=name, settings=settings, pool=pool, broker=broker, nats=nc, js=js)
    if store is not None:
        ctx.serve(keystore.serve_data_keys(pool, store))
    elif keks is not None and isinstance(settings, PersonalDataSettings):
        keystore.configure(RemoteKeyRing(nc, keks, read_seconds=settings.privacy_key_cache_seconds))
    if service.actor_key is not None:
        ctx.verify_token = access_tokens.verifier(service.actor_key(settings))
    built = service.build(ctx)
    if built is not None:
        await built
    register_admin_handlers(ctx)
    for step in ctx.starting:
        await step()
    for event_consumer in ctx.subscribed:
        await consumers.ensure_current_config(js, event_consumer)
    await broker.start()

    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(loop(), name=loop_name) for loop_name, loop in ctx.loops
    ]
    tasks.append(asyncio.create_task(keep_inbox_pruned(pool), name="inbox-retention"))
    if ctx.subscribed:
        watch = consumers.watch_lag(js, ctx.subscribed)
        tasks.append(asyncio.create_task(watch, name="consumer-lag"))
    relay: OutboxRelay | None = None
    if service.publishes_events:
        relay = OutboxRelay(settings.database_url, name, js)
        tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        tasks.append(asyncio.create_task(watch_outbox(pool, name), name="outbox-watch"))

    async def database_ready() -> bool:
        return bool(await pool.fetchval("SELECT true"))

    async def nats_ready() -> bool:
        return nc.is_connected

    async def nats_not_closed() -> bool:
        # Disconnected is normal during an outage (reconnecting forever);
        # closed never recovers: restart the process.
        return not nc.is_closed

    async def loops_running() -> bool:
        return not any(task.done() for task in tasks)

    app = ops_app(
        [("database", database_ready), ("nats", nats_ready)],
        liveness=[("nats", nats_not_closed), ("loops", loops_running)],
        degradations=ctx.degradations,
    )
    server = http_server(app, settings.http_port, lifespan="off")
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
    await stop_within(broker.stop(), SHUTDOWN_STEP_SECONDS, "broker")
    if not await stop_within(pool.close(), SHUTDOWN_STEP_SECONDS, "database pool"):
        pool.terminate()
    log.info("service stopped")


# Each shutdown step gets this long; a server that is away (NATS or PostgreSQL
# down) must not keep a stopping process alive until Kubernetes kills it.
SHUTDOWN_STEP_SECONDS = 5.0


async def stop_within(step: Awaitable[Any], seconds: float, what: str) -> bool:
    try:
        async with asyncio.timeout(seconds):  # not wait_for: see servicekit.waits
            await step
    except TimeoutError:
        log.warning("shutdown step timed out", step=what, seconds=seconds)
        return False
    except Exception as exc:
        log.warning("shutdown step failed", step=what, error=repr(exc))
        return False
    return True


_USERINFO = re.compile(r"//[^/@,]*@")


class ConnectionEvents:
    """nats-py connection callbacks that log through structlog. Errors while
    reconnecting repeat every few seconds: the same one is logged once a minute."""

    def __init__(self, url: str, repeat_after: float = 60.0) -> None:
        self.url = _USERINFO.sub("//", url)  # never a password in a log line
        self.repeat_after = repeat_after
        self._last_error = ""
        self._last_logged = 0.0

    async def disconnected(self) -> None:
        log.warning("nats disconnected; reconnecting", nats_url=self.url)

    async def reconnected(self) -> None:
        self._last_error = ""
        log.info("nats reconnected", nats_url=self.url)

    async def closed(self) -> None:
        # Only at shutdown: reconnection never gives up.
        log.warning("nats connection closed", nats_url=self.url)

    async def error(self, exc: Exception) -> None:
        text = repr(exc)
        now = time.monotonic()
        if text != self._last_error or now - self._last_logged >= self.repeat_after:
            self._last_error, self._last_logged = text, now
            log.warning("nats connection error", nats_url=self.url, error=text)


def create_broker(settings: ServiceSettings, name: str) -> NatsBroker:
    """A broker that connects as the service's own NATS identity (its NKEY and
    reply inbox, docs/security.md), reconnects forever with a fixed, capped wait
    and logs every connection event (FastStream's warnings and errors go to stderr)."""
    events = ConnectionEvents(settings.nats_url)
    faststream_log = logging.getLogger("faststream")
    faststream_log.setLevel(logging.WARNING)
    quiet_idle_fetch_timeouts(faststream_log)
    return NatsBroker(
        settings.nats_url,
        middlewares=[CorrelationMiddleware],
        logger=faststream_log,
        log_level=logging.DEBUG,  # per-message lines: below the logger's level
        allow_reconnect=True,
        max_reconnect_attempts=settings.nats_max_reconnect_attempts,
        reconnect_time_wait=cast(int, settings.nats_reconnect_wait),
        connect_timeout=2,
        disconnected_cb=events.disconnected,
        reconnected_cb=events.reconnected,
        closed_cb=events.closed,
        error_cb=events.error,
        name=name,
        **broker_options(settings.nats_options(name)),
    )


def broker_options(nats_options: dict[str, Any]) -> dict[str, Any]:
    """nats-py's connect options as FastStream's broker takes them: the NKEY
    seed file as `security` (its `nkeys_seed` keyword is deprecated)."""
    options = dict(nats_options)
    seed = options.pop("nkeys_seed", None)
    if seed is not None:
        options["security"] = NatsNKey.from_file(seed)
    return options


def main(service: Service[Any]) -> None:
    """`python -m helpdesk.<service>`: run it on uvloop (a faster loop, same asyncio code)."""
    uvloop.run(run(service))


__all__: Sequence[str] = [
    "Service",
    "ServiceContext",
    "create_broker",
    "current_correlation_id",
    "ensure_stream",
    "main",
    "run",
    "services",
]

"""Composition root of the tickets service: adapters -> `Deps` -> the handlers,
the users consumer, the projections and the SLA monitor, on the service runtime.

Tests build the same wiring with `wire(ctx, clock=ManualClock(...))`; use-case
tests skip it and pass their fakes in a `Deps` of their own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from helpdesk.contracts import tickets as contract
from helpdesk.contracts.tickets import RATING_LINK_KEY_LABEL, RATING_TOKEN_MAX
from helpdesk.servicekit.blobs import NatsBlobStore
from helpdesk.servicekit.clock import Clock, SystemClock
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.events import Delivery, on_events
from helpdesk.servicekit.handlers import Handlers, bind
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.privacy import SignedTokens
from helpdesk.servicekit.runtime import Service, ServiceContext
from helpdesk.tickets.adapters.agents import AgentsProjection
from helpdesk.tickets.adapters.attachments import AttachmentsProjection, eraser
from helpdesk.tickets.adapters.contract_events import TICKETS_STORE
from helpdesk.tickets.adapters.history import HistoryProjection
from helpdesk.tickets.adapters.insight_ops import build_new_projections, run_gauges
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.adapters.projections import TicketsProjection
from helpdesk.tickets.adapters.repository import prepare_number_years
from helpdesk.tickets.adapters.search import SearchProjection
from helpdesk.tickets.adapters.unit_of_work import PostgresUnitOfWork
from helpdesk.tickets.adapters.users import users_consumer
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.handlers import HANDLERS, assignment, erasure
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.retention import RetentionDeps, expire_closed_tickets
from helpdesk.tickets.handlers.sla import SlaMonitor
from helpdesk.tickets.settings import Settings


@dataclass
class TicketsApp:
    deps: Deps
    handlers: Handlers
    monitor: SlaMonitor
    policy: RoutingPolicy
    consumers: list[EventConsumer]
    retention: RetentionDeps


log = get_logger(__name__)

# One-off start-up tasks, referenced until done (asyncio keeps only weak ones).
_background: set[asyncio.Task[None]] = set()


def rating_links(settings: Settings) -> SignedTokens | None:
    """The rating links' verifier (the notifier signs them; docs/workspace.md)."""
    return settings.signed_tokens(RATING_LINK_KEY_LABEL, max_chars=RATING_TOKEN_MAX)


def wire(
    ctx: ServiceContext[Settings],
    *,
    clock: Clock | None = None,
    policy: RoutingPolicy | None = None,
    consume_identity: bool = True,
) -> TicketsApp:
    """Register every handler of the service on `ctx` (tests pass their own clock)."""
    policy = (policy or load_policy(ctx.settings.routing_policy)).with_ending(
        reopen_days=ctx.settings.reopen_days,
        auto_close_business_days=ctx.settings.auto_close_days,
    )
    ctx.store = TICKETS_STORE  # its completion of old events, for resealing
    ctx.projections.append(TicketsProjection())
    # Search and the history behind as_of and the SLA reports (docs/search.md, reports.md).
    ctx.projections += [SearchProjection(), HistoryProjection(policy)]
    ctx.projections.append(AttachmentsProjection())
    ctx.projections.append(AgentsProjection())
    deps = Deps(
        uow=PostgresUnitOfWork.factory(ctx.pool, ctx.store, ctx.projections),
        policy=policy,
        clock=clock or SystemClock(),
        attachment_ticket_max_bytes=ctx.settings.attachment_ticket_max_bytes,
        rating_links=rating_links(ctx.settings),
    )
    handlers = bind(deps, HANDLERS)
    ctx.serve(handlers)
    consumers = [
        users_consumer(),
        eraser(NatsBlobStore(ctx.js)),
        *assignment_consumers(ctx, policy, deps.clock),
        erasure_consumer(ctx, deps.clock),
    ]
    if consume_identity:  # the service's durable consumers (tests of handlers skip them)
        for consumer in consumers:
            ctx.consume(consumer)
    monitor = SlaMonitor(deps, interval=ctx.settings.sla_monitor_interval)
    retention = RetentionDeps(
        uow=deps.uow, clock=deps.clock, closed_days=ctx.settings.retention_closed_days
    )
    return TicketsApp(
        deps=deps,
        handlers=handlers,
        monitor=monitor,
        policy=policy,
        consumers=consumers,
        retention=retention,
    )


def erasure_consumer(ctx: ServiceContext[Settings], clock: Clock) -> EventConsumer:
    """An erasure's scrub, its units of work on the delivery's connection (docs/privacy.md)."""

    def deps(delivery: Delivery) -> erasure.ErasureDeps:
        uow = PostgresUnitOfWork.on_connection(delivery.conn, ctx.store, ctx.projections)
        return erasure.ErasureDeps(uow, clock, ctx.settings.privacy_key_cache_seconds)

    return on_events(erasure.CONSUMER_NAME, erasure.ERASURE_HANDLERS, deps)


def assignment_consumers(
    ctx: ServiceContext[Settings], policy: RoutingPolicy, clock: Clock
) -> list[EventConsumer]:
    """The assignment handlers, each delivery's units of work on its connection."""

    def deps(delivery: Delivery) -> assignment.AssignmentDeps:
        uow = PostgresUnitOfWork.on_connection(delivery.conn, ctx.store, ctx.projections)
        return assignment.AssignmentDeps(uow, policy, clock, delivery.occurred_at)

    return [
        # A trigger handled twice assigns nothing twice (handlers/assignment.py).
        on_events(
            assignment.ASSIGNMENT_CONSUMER, assignment.ASSIGNMENT_HANDLERS, deps, inbox=False
        ),
        on_events(assignment.DEACTIVATION_CONSUMER, assignment.DEACTIVATION_HANDLERS, deps),
    ]


def build(ctx: ServiceContext[Settings]) -> None:
    app = wire(ctx)
    # Loops: one that ends makes /healthz fail, so Kubernetes restarts the replica.
    ctx.background("sla-monitor", app.monitor.run)
    # This year's and next year's ticket-number sequences, checked hourly; a failure is
    # only logged: a submit creates a missing year itself.
    ctx.periodically(
        "number-years", lambda: prepare_number_years(ctx.pool, app.deps.clock.now()), 3600
    )
    ctx.background("backlog-gauges", lambda: run_gauges(ctx.pool, app.deps.clock))
    # Closed tickets past their retention lose texts and files (docs/privacy.md).
    ctx.periodically(
        "retention",
        lambda: expire_closed_tickets(app.retention),
        ctx.settings.retention_interval_seconds,
    )
    # Once: projections new in this release are filled from the store. Commands
    # meanwhile wait on the projection's table lock, then apply on top.
    backfill = asyncio.get_running_loop().create_task(
        build_new_projections(ctx.pool, ctx.projections[1:]), name="backfill"
    )
    _background.add(backfill)
    backfill.add_done_callback(_background.discard)


SERVICE = Service(
    name=contract.SERVICE,
    settings=Settings,
    build=build,
    migrations="helpdesk.tickets.migrations",
    publishes_events=True,
    actor_key=lambda settings: settings.jwt_public_key,
)

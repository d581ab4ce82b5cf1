"""Composition root of the tickets service: adapters -> `Deps` -> the handlers,
the users consumer, the projections and the SLA monitor, on the service runtime.

Tests build the same wiring with `wire(ctx, clock=ManualClock(...))`; use-case
tests skip it and pass their fakes in a `Deps` of their own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from helpdesk.contracts import tickets as contract
from helpdesk.servicekit.clock import Clock, SystemClock
from helpdesk.servicekit.handlers import Handlers, bind
from helpdesk.servicekit.runtime import Service, ServiceContext
from helpdesk.tickets.adapters import assigning
from helpdesk.tickets.adapters.agents import AgentsProjection
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.adapters.projections import TicketsProjection
from helpdesk.tickets.adapters.unit_of_work import PostgresUnitOfWork
from helpdesk.tickets.adapters.users import users_consumer
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.handlers import HANDLERS
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.sla import SlaMonitor
from helpdesk.tickets.settings import Settings


@dataclass
class TicketsApp:
    deps: Deps
    handlers: Handlers
    monitor: SlaMonitor
    policy: RoutingPolicy
    assigner: assigning.Assigner


_background: set[asyncio.Task[None]] = set()


def wire(
    ctx: ServiceContext[Settings],
    *,
    clock: Clock | None = None,
    policy: RoutingPolicy | None = None,
    consume_identity: bool = True,
) -> TicketsApp:
    """Register every handler of the service on `ctx` (tests pass their own clock)."""
    policy = policy or load_policy(ctx.settings.routing_policy)
    ctx.projections.append(TicketsProjection())
    ctx.projections.append(AgentsProjection())
    deps = Deps(
        uow=PostgresUnitOfWork.factory(ctx.pool, ctx.store, ctx.projections),
        policy=policy,
        clock=clock or SystemClock(),
    )
    handlers = bind(deps, HANDLERS)
    ctx.serve(handlers)
    assigner = assigning.Assigner(ctx.store, ctx.projections, policy, deps.clock)
    if consume_identity:  # tests of the handlers alone run no durable consumer
        ctx.consume(users_consumer())
        for consumer in assigning.consumers(assigner):
            ctx.consume(consumer)
    monitor = SlaMonitor(deps, interval=ctx.settings.sla_monitor_interval)
    return TicketsApp(
        deps=deps, handlers=handlers, monitor=monitor, policy=policy, assigner=assigner
    )


def build(ctx: ServiceContext[Settings]) -> None:
    app = wire(ctx)
    task = asyncio.get_running_loop().create_task(app.monitor.run(), name="sla-monitor")
    _background.add(task)
    task.add_done_callback(_background.discard)


SERVICE = Service(
    name=contract.SERVICE,
    settings=Settings,
    build=build,
    migrations="helpdesk.tickets.migrations",
    publishes_events=True,
    actor_key=lambda settings: settings.jwt_public_key,
)

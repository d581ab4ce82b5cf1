"""Composition root of the tickets service: wires the handlers, the users
consumer, the projections and the SLA monitor onto the service runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from helpdesk.contracts import tickets as contract
from helpdesk.contracts.replies import Refused, Reply
from helpdesk.servicekit.clock import Clock, SystemClock
from helpdesk.servicekit.runtime import Service, ServiceContext
from helpdesk.tickets.monitor import SlaMonitor
from helpdesk.tickets.projections import TicketsProjection
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.routing import RoutingPolicy, load_policy
from helpdesk.tickets.service import TicketService
from helpdesk.tickets.settings import Settings
from helpdesk.tickets.users import users_consumer


@dataclass
class TicketsApp:
    service: TicketService
    monitor: SlaMonitor
    policy: RoutingPolicy


_background: set[asyncio.Task[None]] = set()


def _unwrap(
    method: Callable[[Any], Awaitable[Reply[Any]]],
) -> Callable[[Any], Awaitable[BaseModel]]:
    # Transitional: the handlers still answer `Reply`; the kit wants result or `Refused`.
    async def handler(command: Any) -> BaseModel:
        reply = await method(command)
        if reply.error is not None:
            raise Refused(
                reply.error.message,
                code=reply.error.code,
                field_errors=reply.error.field_errors,
                retry_after=reply.error.retry_after,
            )
        assert reply.result is not None
        return reply.result  # type: ignore[no-any-return]

    return handler


def wire(
    ctx: ServiceContext[Settings],
    *,
    clock: Clock | None = None,
    policy: RoutingPolicy | None = None,
    consume_identity: bool = True,
) -> TicketsApp:
    """Register every handler of the service on `ctx` (tests pass their own clock)."""
    clock = clock or SystemClock()
    policy = policy or load_policy(ctx.settings.routing_policy)
    ctx.projections.append(TicketsProjection())
    repository = TicketRepository(ctx.store, ctx.projections)
    service = TicketService(ctx.pool, repository, policy, clock)
    monitor = SlaMonitor(ctx.pool, repository, clock, interval=ctx.settings.sla_monitor_interval)

    ctx.serve(
        {
            contract.SubmitTicket: _unwrap(service.submit),
            contract.AddMessage: _unwrap(service.add_message),
            contract.ChangeStatus: _unwrap(service.change_status),
            contract.ChangePriority: _unwrap(service.change_priority),
            contract.AssignTicket: _unwrap(service.assign),
            contract.GetTicket: _unwrap(service.get),
            contract.ListTickets: _unwrap(service.list),
            contract.ListPriorities: _unwrap(service.priorities),
        }
    )

    if consume_identity:
        ctx.consume(users_consumer())
    return TicketsApp(service=service, monitor=monitor, policy=policy)


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
)

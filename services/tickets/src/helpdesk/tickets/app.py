"""Composition root of the tickets service: wires the handlers, the users
consumer, the projections and the SLA monitor onto the service runtime."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from helpdesk.contracts.replies import Reply
from helpdesk.servicekit.runtime import ServiceContext
from helpdesk.tickets.clock import Clock, SystemClock
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

    @ctx.command("submit")
    async def submit(body: dict[str, Any]) -> Reply[Any]:
        return await service.submit(body)

    @ctx.command("add_message")
    async def add_message(body: dict[str, Any]) -> Reply[Any]:
        return await service.add_message(body)

    @ctx.command("change_status")
    async def change_status(body: dict[str, Any]) -> Reply[Any]:
        return await service.change_status(body)

    @ctx.command("change_priority")
    async def change_priority(body: dict[str, Any]) -> Reply[Any]:
        return await service.change_priority(body)

    @ctx.command("assign")
    async def assign(body: dict[str, Any]) -> Reply[Any]:
        return await service.assign(body)

    @ctx.query("get")
    async def get(body: dict[str, Any]) -> Reply[Any]:
        return await service.get(body)

    @ctx.query("list")
    async def list_tickets(body: dict[str, Any]) -> Reply[Any]:
        return await service.list(body)

    @ctx.query("priorities")
    async def priorities(body: dict[str, Any] | None = None) -> Reply[Any]:
        return await service.priorities(body)

    if consume_identity:
        ctx.consume(users_consumer())
    return TicketsApp(service=service, monitor=monitor, policy=policy)


def build(ctx: ServiceContext[Settings]) -> None:
    app = wire(ctx)
    task = asyncio.get_running_loop().create_task(app.monitor.run(), name="sla-monitor")
    _background.add(task)
    task.add_done_callback(_background.discard)

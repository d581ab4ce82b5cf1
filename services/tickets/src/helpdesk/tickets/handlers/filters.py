"""Agents' saved filters of the queue page (issue 29): named views kept per agent
(`SavedFilterStore`; rows, not events: a preference, not a fact of the domain)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.agents import (
    SAVED_FILTERS_MAX,
    DeleteFilter,
    ListFilters,
    SavedFilter,
    SavedFilters,
    SaveFilter,
)
from helpdesk.contracts.replies import Refused
from helpdesk.tickets.domain.errors import Forbidden
from helpdesk.tickets.handlers.deps import Deps, Table, UnitOfWork, caller_of


class TooManyFilters(Refused):
    code = "validation_error"
    default_message = f"at most {SAVED_FILTERS_MAX} saved filters each"
    field_error = ("name", "delete one first")


def _ensure_agent(actor: Actor) -> None:
    if not actor.is_agent:
        raise Forbidden("only agents save filters of the queue")


async def _change(
    deps: Deps, actor: Actor, change: Callable[[UnitOfWork], Awaitable[None]]
) -> SavedFilters:
    """An agent's change to their filters, in one transaction: their filters after it."""
    _ensure_agent(actor)
    async with deps.uow() as uow:
        await change(uow)
        found = await uow.filters.of(actor.user_id)
        await uow.commit()
    return SavedFilters(items=found)


async def save_filter(cmd: SaveFilter, deps: Deps) -> SavedFilters:
    async def save(uow: UnitOfWork) -> None:
        await caller_of(uow, cmd.actor)
        saved = SavedFilter(name=cmd.name, spec=cmd.spec)
        if not await uow.filters.save(cmd.actor.user_id, saved, limit=SAVED_FILTERS_MAX):
            raise TooManyFilters()

    return await _change(deps, cmd.actor, save)


async def delete_filter(cmd: DeleteFilter, deps: Deps) -> SavedFilters:
    async def delete(uow: UnitOfWork) -> None:
        await uow.filters.delete(cmd.actor.user_id, cmd.name)

    return await _change(deps, cmd.actor, delete)


async def list_filters(query: ListFilters, deps: Deps) -> SavedFilters:
    _ensure_agent(query.actor)
    async with deps.uow() as uow:
        return SavedFilters(items=await uow.filters.of(query.actor.user_id))


FILTERS: Table = {SaveFilter: save_filter, DeleteFilter: delete_filter, ListFilters: list_filters}

"""Agents' saved views of the queue (issue 29) against the in-memory fakes."""

from __future__ import annotations

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.contracts.agents import (
    SAVED_FILTERS_MAX,
    DeleteFilter,
    FilterSpec,
    ListFilters,
    SaveFilter,
)
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.tickets.handlers import filters
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase


async def test_an_agent_saves_lists_replaces_and_deletes_their_views(
    db: FakeDatabase, deps: Deps
) -> None:
    kostas, eleni = db.add_user("Κώστας", Role.AGENT), db.add_user("Ελένη", Role.AGENT)
    urgent = FilterSpec(view="all", priority=Priority.URGENT)
    saved = await filters.save_filter(SaveFilter(actor=kostas, name="Επείγοντα", spec=urgent), deps)
    assert [(f.name, f.spec) for f in saved.items] == [("Επείγοντα", urgent)]
    assert (await filters.list_filters(ListFilters(actor=eleni), deps)).items == []
    for n in range(SAVED_FILTERS_MAX - 1):
        await filters.save_filter(
            SaveFilter(actor=kostas, name=f"v{n:02}", spec=FilterSpec()), deps
        )
    with pytest.raises(Refused) as refused:
        await filters.save_filter(
            SaveFilter(actor=kostas, name="one more", spec=FilterSpec()), deps
        )
    assert refused.value.error.code == "validation_error"
    left = await filters.delete_filter(DeleteFilter(actor=kostas, name="Επείγοντα"), deps)
    assert len(left.items) == SAVED_FILTERS_MAX - 1


async def test_customers_have_no_saved_views(db: FakeDatabase, deps: Deps) -> None:
    maria = db.add_user("Μαρία")
    with pytest.raises(Refused) as refused:
        await filters.list_filters(ListFilters(actor=maria), deps)
    assert refused.value.error.code == "forbidden"

"""Use-case tests run the real handlers and aggregate against in-memory fakes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.handlers.assignment import AssignmentDeps
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase, FakeUnitOfWork, fake_deps

ATHENS = ZoneInfo("Europe/Athens")
# Monday 23 November 2026, 09:00 in Athens: the start of a business week.
MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=ATHENS)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_9)


@pytest.fixture
def deps(db: FakeDatabase, clock: ManualClock) -> Deps:
    return fake_deps(db, clock)


@pytest.fixture
def on_event(db: FakeDatabase, clock: ManualClock, deps: Deps) -> AssignmentDeps:
    """What the assignment handlers get for an event, over the same fakes."""
    return AssignmentDeps(
        uow=lambda one_statement=False: FakeUnitOfWork(db),
        policy=deps.policy,
        clock=clock,
        occurred_at=clock.now(),
    )

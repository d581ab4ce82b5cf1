"""Use-case tests run the real handlers and aggregate against in-memory fakes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import FakeDatabase, fake_deps

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

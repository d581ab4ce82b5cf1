"""The business-hours SLA clock: Mon-Fri 09:00-17:00 Europe/Athens, Greek holidays off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.contracts.priorities import Priority
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.domain.calendar import AlwaysCalendar

ATHENS = ZoneInfo("Europe/Athens")
HOUR = 3600.0


def athens(*args: int) -> datetime:
    return datetime(*args, tzinfo=ATHENS)  # type: ignore[misc]


@pytest.fixture(scope="module")
def business():  # type: ignore[no-untyped-def]
    return load_policy().business_calendar


def test_within_one_business_day(business) -> None:  # type: ignore[no-untyped-def]
    # Monday 23 November 2026, 10:00 + 2 business hours = 12:00 the same day.
    assert business.add(athens(2026, 11, 23, 10), 2 * HOUR) == athens(2026, 11, 23, 12)


def test_spills_over_the_weekend(business) -> None:  # type: ignore[no-untyped-def]
    # Friday 27 November 16:00: one hour on Friday, one on Monday.
    due = business.add(athens(2026, 11, 27, 16), 2 * HOUR)
    assert due == athens(2026, 11, 30, 10)
    assert due.tzinfo == UTC


def test_submitted_on_a_saturday_starts_on_monday_morning(business) -> None:  # type: ignore[no-untyped-def]
    assert business.add(athens(2026, 11, 28, 11), 30 * 60) == athens(2026, 11, 30, 9, 30)


def test_submitted_after_hours_starts_next_morning(business) -> None:  # type: ignore[no-untyped-def]
    assert business.add(athens(2026, 11, 24, 20), HOUR) == athens(2026, 11, 25, 10)


def test_orthodox_easter_good_friday_and_easter_monday_are_off(business) -> None:  # type: ignore[no-untyped-def]
    # Orthodox Easter 2026 is Sunday 12 April: Good Friday 10 and Easter Monday 13 are holidays.
    assert not business.is_working_day(date(2026, 4, 10))
    assert not business.is_working_day(date(2026, 4, 13))
    # Thursday 9 April 16:00 + 8 business hours: 1 h on Thursday, then Tuesday 14 until 16:00.
    assert business.add(athens(2026, 4, 9, 16), 8 * HOUR) == athens(2026, 4, 14, 16)


def test_fixed_greek_holidays(business) -> None:  # type: ignore[no-untyped-def]
    for day in (date(2026, 3, 25), date(2026, 10, 28), date(2026, 12, 25), date(2027, 1, 6)):
        assert not business.is_working_day(day), day
    # 28 October 2026 is a Wednesday: Tuesday 16:00 + 2 h ends Thursday 10:00.
    assert business.add(athens(2026, 10, 27, 16), 2 * HOUR) == athens(2026, 10, 29, 10)


def test_elapsed_is_the_inverse_of_add(business) -> None:  # type: ignore[no-untyped-def]
    start = athens(2026, 4, 8, 11, 15)
    for seconds in (60.0, 3 * HOUR, 8 * HOUR, 30 * HOUR, 80 * HOUR):
        assert business.elapsed(start, business.add(start, seconds)) == pytest.approx(seconds)


def test_elapsed_over_a_weekend_counts_nothing(business) -> None:  # type: ignore[no-untyped-def]
    assert business.elapsed(athens(2026, 11, 27, 17), athens(2026, 11, 30, 9)) == 0


def test_daylight_saving_change_keeps_local_hours(business) -> None:  # type: ignore[no-untyped-def]
    # Clocks go back on Sunday 25 October 2026; Monday still opens at 09:00 local.
    assert business.add(athens(2026, 10, 23, 16), 2 * HOUR) == athens(2026, 10, 26, 10)


def test_always_calendar_is_wall_clock() -> None:
    start = datetime(2026, 11, 28, 23, 50, tzinfo=UTC)  # a Saturday night
    assert AlwaysCalendar().add(start, 30 * 60) == start + timedelta(minutes=30)


def test_policy_table_matches_the_issue() -> None:
    policy = load_policy()
    rows = {p: (policy.route(p).queue, policy.targets(p), policy.pages(p)) for p in Priority}
    assert rows[Priority.LOW][0] == "service-desk"
    assert rows[Priority.LOW][1].first_response == 16 * HOUR  # 2 business days
    assert rows[Priority.LOW][1].resolution == 80 * HOUR
    assert rows[Priority.NORMAL][1].first_response == 8 * HOUR
    assert rows[Priority.NORMAL][1].resolution == 24 * HOUR
    assert rows[Priority.HIGH][1].first_response == 2 * HOUR
    assert rows[Priority.HIGH][1].resolution == 8 * HOUR
    assert rows[Priority.URGENT][0] == "incidents"
    assert rows[Priority.URGENT][1].first_response == 30 * 60
    assert rows[Priority.URGENT][1].resolution == 8 * HOUR
    assert rows[Priority.CRITICAL][1].first_response == 15 * 60
    assert rows[Priority.CRITICAL][1].resolution == 4 * HOUR
    assert rows[Priority.CRITICAL][1].escalate_after == 15 * 60
    assert [p for p in Priority if rows[p][2]] == [Priority.URGENT, Priority.CRITICAL]

"""SLA clocks: business hours (with public holidays) and round the clock.

A clock answers two questions: how much SLA time lies between two instants
(`elapsed`), and at which instant a given amount of SLA time, counted from a
start, runs out (`add`). Instants are timezone-aware; results are UTC.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

# A business-hours target never needs more than this many calendar days.
_MAX_DAYS = 3660


class SlaCalendar(Protocol):
    def elapsed(self, start: datetime, end: datetime) -> float: ...

    def add(self, start: datetime, seconds: float) -> datetime: ...


class AlwaysCalendar:
    """24/7: SLA time is wall-clock time."""

    def elapsed(self, start: datetime, end: datetime) -> float:
        return max(0.0, (end - start).total_seconds())

    def add(self, start: datetime, seconds: float) -> datetime:
        return (start + timedelta(seconds=max(0.0, seconds))).astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days between `opens` and `closes` local time, public holidays off."""

    timezone: ZoneInfo
    weekdays: frozenset[int]  # 0 = Monday
    opens: time
    closes: time
    country: str
    subdivision: str | None = None

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("business hours must close after they open")
        if not self.weekdays:
            raise ValueError("business hours need at least one working day")
        # `holidays` expands years lazily as dates are looked up.
        object.__setattr__(
            self, "_holidays", holidays.country_holidays(self.country, subdiv=self.subdivision)
        )
        # A day's business hours never change: each submit asks for the same few
        # days' windows several times (four deadlines), so each is worked out once.
        object.__setattr__(self, "_window", functools.lru_cache(maxsize=4096)(self._day_window))

    @property
    def day_seconds(self) -> float:
        """The length of one business day (for targets written in business days)."""
        start = datetime.combine(date(2000, 1, 3), self.opens)
        return (datetime.combine(date(2000, 1, 3), self.closes) - start).total_seconds()

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self._holidays  # type: ignore[attr-defined]

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The business hours of a local calendar day, in UTC (None on a day off)."""
        window: tuple[datetime, datetime] | None = self._window(day)  # type: ignore[attr-defined]
        return window

    def _day_window(self, day: date) -> tuple[datetime, datetime] | None:
        if not self.is_working_day(day):
            return None
        opens = datetime.combine(day, self.opens, tzinfo=self.timezone).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self.timezone).astimezone(UTC)
        return opens, closes

    def elapsed(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        total = 0.0
        day = start.astimezone(self.timezone).date()
        last = end.astimezone(self.timezone).date()
        while day <= last:
            window = self.window(day)
            if window is not None:
                overlap = (min(end, window[1]) - max(start, window[0])).total_seconds()
                total += max(0.0, overlap)
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        remaining = max(0.0, seconds)
        day = start.astimezone(self.timezone).date()
        for _ in range(_MAX_DAYS):
            window = self.window(day)
            if window is not None:
                begin = max(start, window[0])
                if begin < window[1]:
                    available = (window[1] - begin).total_seconds()
                    if remaining <= available:
                        return (begin + timedelta(seconds=remaining)).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no business time left within {_MAX_DAYS} days of {start}")

"""The declarative routing policy: queue, SLA targets, clock and paging per priority.

The policy ships as `helpdesk/tickets/routing.yaml` (versioned with the
code); `HELPDESK_ROUTING_POLICY` points at another file to override it. This
module validates it; `adapters/policy_file.py` reads the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import AssignmentPolicy, SlaClock
from helpdesk.tickets.domain.calendar import AlwaysCalendar, BusinessCalendar, SlaCalendar

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+(business\s+)?(minute|hour|day)s?\s*$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ValueError):
    """The routing policy file is unreadable or inconsistent."""


@dataclass(frozen=True)
class Duration:
    text: str
    amount: float
    unit: Literal["minute", "hour", "day"]
    business: bool

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a duration like '30 minutes' or '2 business days'")
        unit: Any = match.group(3)
        return cls(text.strip(), float(match.group(1)), unit, bool(match.group(2)))

    def seconds(self, business_day_seconds: float) -> float:
        if self.unit == "minute":
            return self.amount * 60
        if self.unit == "hour":
            return self.amount * 3600
        return self.amount * (business_day_seconds if self.business else 86400)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HolidaySource(_Strict):
    country: str = "GR"
    subdivision: str | None = None


class BusinessHours(_Strict):
    timezone: str = "Europe/Athens"
    days: list[str] = Field(default_factory=lambda: list(_WEEKDAYS[:5]))
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    holidays: HolidaySource = HolidaySource()

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: list[str]) -> list[str]:
        unknown = [d for d in days if d not in _WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekdays {unknown}; use {list(_WEEKDAYS)}")
        return days

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}") from None
        return zone


class Route(_Strict):
    queue: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    first_response: str
    resolution: str
    clock: SlaClock
    page: bool = False
    escalate_unacknowledged_after: str | None = None

    @model_validator(mode="after")
    def _durations_match_clock(self) -> Route:
        for name in ("first_response", "resolution", "escalate_unacknowledged_after"):
            text = getattr(self, name)
            if text is None:
                continue
            duration = Duration.parse(text)
            if duration.business and self.clock is not SlaClock.BUSINESS_HOURS:
                raise ValueError(f"{name}: {text!r} says business time on a 24/7 clock")
            if self.clock is SlaClock.BUSINESS_HOURS and not duration.business:
                raise ValueError(f"{name}: write {text!r} as business time on this clock")
        return self


class QueueRules(_Strict):
    """How a queue's tickets are assigned (docs/assignment.md), and its name for
    people in Greek and English (`label`; the key where a language is missing)."""

    assignment: AssignmentPolicy = AssignmentPolicy.MANUAL
    label: dict[Literal["el", "en"], str] = Field(default_factory=dict)


class RoutingPolicy(_Strict):
    version: int = 1
    business_hours: BusinessHours = BusinessHours()
    warning_at: float = Field(default=0.8, gt=0, lt=1)
    priorities: dict[Priority, Route]
    # Per queue; a queue not listed is assigned manually.
    queues: dict[str, QueueRules] = Field(default_factory=dict)
    # The end of a ticket (docs/workspace.md): the service sets both from
    # HELPDESK_REOPEN_DAYS and HELPDESK_AUTO_CLOSE_DAYS at start (`with_ending`).
    reopen_days: float = Field(default=14, ge=0)  # calendar days after resolution
    auto_close_business_days: float = Field(default=7, gt=0)

    def with_ending(self, *, reopen_days: float, auto_close_business_days: float) -> RoutingPolicy:
        return self.model_copy(
            update={
                "reopen_days": reopen_days,
                "auto_close_business_days": auto_close_business_days,
            }
        )

    def auto_close_at(self, resolved_at: datetime) -> datetime:
        """When a ticket resolved at `resolved_at` closes by itself (business days)."""
        calendar = self.business_calendar
        return calendar.add(resolved_at, self.auto_close_business_days * calendar.day_seconds)

    def reopen_until(self, resolved_at: datetime) -> datetime:
        """The last moment its requester may reopen a ticket resolved at `resolved_at`."""
        return resolved_at + timedelta(days=self.reopen_days)

    @model_validator(mode="after")
    def _every_priority(self) -> RoutingPolicy:
        missing = [p.value for p in Priority if p not in self.priorities]
        if missing:
            raise ValueError(f"no route for priorities {missing}")
        unrouted = sorted(set(self.queues) - set(self.queue_names()))
        if unrouted:
            raise ValueError(f"queues {unrouted} receive no priority; route one there or drop them")
        return self

    def queue_names(self) -> list[str]:
        """Every queue a priority routes to, in the order of the priorities."""
        return list(dict.fromkeys(route.queue for route in self.priorities.values()))

    def priorities_of(self, queue: str) -> list[Priority]:
        return [p for p, route in self.priorities.items() if route.queue == queue]

    def queue_label(self, queue: str) -> dict[str, str]:
        """The queue's name for people, per language (its key where none is given)."""
        rules = self.queues.get(queue)
        label = rules.label if rules else {}
        return {lang: label.get(lang, queue) for lang in ("el", "en")}  # type: ignore[call-overload]

    def assignment(self, queue: str) -> AssignmentPolicy:
        rules = self.queues.get(queue)
        return rules.assignment if rules else AssignmentPolicy.MANUAL

    @cached_property
    def business_calendar(self) -> BusinessCalendar:
        hours = self.business_hours
        return BusinessCalendar(
            timezone=ZoneInfo(hours.timezone),
            weekdays=frozenset(_WEEKDAYS.index(d) for d in hours.days),
            opens=hours.opens,
            closes=hours.closes,
            country=hours.holidays.country,
            subdivision=hours.holidays.subdivision,
        )

    def route(self, priority: Priority) -> Route:
        return self.priorities[priority]

    def calendar(self, priority: Priority) -> SlaCalendar:
        if self.route(priority).clock is SlaClock.BUSINESS_HOURS:
            return self.business_calendar
        return AlwaysCalendar()

    def seconds(self, text: str) -> float:
        return Duration.parse(text).seconds(self.business_calendar.day_seconds)

    def targets(self, priority: Priority) -> SlaTargets:
        return self.all_targets[priority]

    @cached_property
    def all_targets(self) -> dict[Priority, SlaTargets]:
        """Worked out once (every submit and SLA step asks)."""
        found = {}
        for priority, route in self.priorities.items():
            escalate = route.escalate_unacknowledged_after
            found[priority] = SlaTargets(
                first_response=self.seconds(route.first_response),
                resolution=self.seconds(route.resolution),
                escalate_after=self.seconds(escalate) if escalate else None,
            )
        return found

    def pages(self, priority: Priority) -> bool:
        return self.route(priority).page


@dataclass(frozen=True)
class SlaTargets:
    first_response: float  # seconds of SLA time
    resolution: float
    escalate_after: float | None

"""Contracts of the SLA and workload reports, answered by the tickets service
from its event history (docs/reports.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.tickets import _TicketsQuery

MAX_REPORT_DAYS = 400

# Backlog age buckets (wall-clock age of an unresolved ticket at the report's instant).
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under_1d", 1),
    ("1d_3d", 3),
    ("3d_7d", 7),
    ("7d_30d", 30),
    ("over_30d", float("inf")),
)


class GroupBy(StrEnum):
    PRIORITY = "priority"
    QUEUE = "queue"
    AGENT = "agent"


class SlaReportRow(BaseModel):
    """One group's figures. Times are SLA minutes: business minutes on the
    business-hours clock, wall-clock minutes on the 24/7 one (the SLA clock's)."""

    group: str  # the priority, the queue, or the agent's id ("" = unassigned)
    label: str | None = None  # the agent's name
    opened: int = 0
    resolved: int = 0
    first_response_met: int = 0
    first_response_breached: int = 0
    first_response_met_pct: float | None = None
    first_response_median_minutes: float | None = None
    first_response_p90_minutes: float | None = None
    resolution_met: int = 0
    resolution_breached: int = 0
    resolution_met_pct: float | None = None
    resolution_median_minutes: float | None = None
    resolution_p90_minutes: float | None = None
    backlog: int = 0
    backlog_by_age: dict[str, int] = Field(default_factory=dict)
    first_response_breaches: int = 0  # TicketSlaBreached events in the period
    resolution_breaches: int = 0
    escalations: int = 0
    # The requesters' satisfaction ratings (1-5) given in the period, counted for
    # the ticket's assignee and queue when rated (docs/workspace.md).
    ratings: int = 0
    rating_average: float | None = None


class SlaReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    as_of: datetime
    group_by: GroupBy
    rows: list[SlaReportRow]
    total: SlaReportRow


class GetSlaReport(_TicketsQuery[SlaReport]):
    """Agents only. Tickets opened, resolved, SLA outcomes and event counts in
    [from, to); backlog at `to` (or `as_of` if earlier); everything as the
    events stood at `as_of` (default: now)."""

    verb: ClassVar[str] = "sla_report"

    model_config = ConfigDict(populate_by_name=True)

    actor: Actor
    from_: datetime = Field(alias="from")
    to: datetime
    group_by: GroupBy = GroupBy.PRIORITY
    as_of: datetime | None = None

    @model_validator(mode="after")
    def _period(self) -> GetSlaReport:
        if self.from_.tzinfo is None or self.to.tzinfo is None:
            raise ValueError("from and to need a time zone")
        if self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        if (self.to - self.from_).days > MAX_REPORT_DAYS:
            raise ValueError(f"a report covers at most {MAX_REPORT_DAYS} days")
        return self

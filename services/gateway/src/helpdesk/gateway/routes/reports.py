"""/api/v1/reports: the SLA and workload report (contracts in
helpdesk.contracts.reports), as JSON or, with `Accept: text/csv`, as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from helpdesk.contracts.reports import AGE_BUCKETS, GetSlaReport, GroupBy, SlaReport, SlaReportRow
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send

router = APIRouter(prefix="/api/v1", tags=["reports"])

CSV_COLUMNS = [name for name in SlaReportRow.model_fields if name != "backlog_by_age"] + [
    f"backlog_{name}" for name, _ in AGE_BUCKETS
]


async def fetch_report(
    request: Request,
    actor: CurrentActor,
    start: datetime,
    end: datetime,
    group_by: GroupBy,
    as_of: datetime | None,
) -> SlaReport:
    try:
        query = GetSlaReport(actor=actor, from_=start, to=end, group_by=group_by, as_of=as_of)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        ) from None
    return await send(request, query)


def report_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in [*report.rows, report.total]:
        values = row.model_dump()
        ages = values.pop("backlog_by_age")
        writer.writerow(
            [_cell(values[c]) for c in CSV_COLUMNS if not c.startswith("backlog_")]
            + [ages.get(name, 0) for name, _ in AGE_BUCKETS]
        )
    return out.getvalue()


def _cell(value: object) -> object:
    # A spreadsheet runs a cell that starts with = + - @ as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


@router.get(
    "/reports/sla",
    response_model=SlaReport,
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON, or CSV for Accept: text/csv"},
        403: {"description": "customers"},
    },
)
async def sla_report(
    request: Request,
    actor: CurrentActor,
    start: Annotated[datetime, Query(alias="from", description="ISO 8601 with a zone")],
    to: Annotated[datetime, Query(description="end of the period (exclusive)")],
    group_by: GroupBy = GroupBy.PRIORITY,
    as_of: Annotated[
        datetime | None, Query(description="the history as it stood at this instant")
    ] = None,
) -> SlaReport | Response:
    """Per group: tickets opened and resolved in [from, to), first-response and
    resolution targets met (%), median and p90 SLA minutes (business minutes on
    the business-hours clock), backlog by age, breaches and escalations. Agents only."""
    report = await fetch_report(request, actor, start, to, group_by, as_of)
    if "text/csv" in request.headers.get("accept", ""):
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="sla-report.csv"'},
        )
    return report

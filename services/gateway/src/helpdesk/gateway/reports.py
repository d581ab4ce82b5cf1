"""The SLA report as both the REST API and the portal fetch and export it."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from helpdesk.contracts.reports import AGE_BUCKETS, GetSlaReport, GroupBy, SlaReport, SlaReportRow
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send

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

"""/api/v1/reports: the SLA and workload report (contracts in
helpdesk.contracts.reports), as JSON or, with `Accept: text/csv`, as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from helpdesk.contracts.reports import GroupBy, SlaReport
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.openapi import answers
from helpdesk.gateway.reports import fetch_report, report_csv

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get(
    "/reports/sla",
    response_model=SlaReport,
    responses=answers(
        "forbidden",
        extra={
            200: {"content": {"text/csv": {}}, "description": "JSON, or CSV for Accept: text/csv"}
        },
    ),
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

"""The agents' SLA report page: the same figures as GET /api/v1/reports/sla,
a table and server-rendered SVG bar charts, in Greek and English."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from helpdesk.contracts.reports import AGE_BUCKETS, GroupBy, SlaReport, SlaReportRow
from helpdesk.gateway.portal.charts import bar_chart
from helpdesk.gateway.portal.i18n import Lang, t
from helpdesk.gateway.portal.rendering import (
    LOCAL_ZONE,
    priority_label,
    queue_label,
    queue_labels,
    render,
)
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import signed_in_user
from helpdesk.gateway.problems import ProblemError
from helpdesk.gateway.reports import fetch_report, report_csv

router = APIRouter()


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value[:10]) if value else default
    except ValueError:
        return default


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_ZONE)


def _label(
    row: SlaReportRow, group_by: GroupBy, lang: Lang, queues: dict[str, dict[str, str]]
) -> str:
    if row.group == "*":
        return t("report_total", lang)
    if group_by is GroupBy.PRIORITY:
        return priority_label(row.group, lang)
    if group_by is GroupBy.AGENT:
        return row.label or (t("unassigned", lang) if not row.group else row.group[:8])
    return queue_label(row.group, queues, lang)  # the routing policy's name (docs/glossary.md)


def _charts(
    labelled: list[tuple[str, SlaReportRow]], report: SlaReport, lang: Lang
) -> dict[str, Any]:
    return {
        "volume": bar_chart([(label, [r.opened, r.resolved]) for label, r in labelled]),
        "met": bar_chart(
            [(label, [r.first_response_met_pct, r.resolution_met_pct]) for label, r in labelled],
            maximum=100,
        ),
        "age": bar_chart(
            [
                (t(f"age_{name}", lang), [report.total.backlog_by_age.get(name, 0)])
                for name, _ in AGE_BUCKETS
            ]
        ),
    }


@router.get("/{lang}/reports")
async def reports_page(
    request: Request,
    lang: PageLang,
    start: str | None = None,
    end: str | None = None,
    group_by: str = "priority",
    format: str | None = None,
) -> Response:
    user = await signed_in_user(request)
    if not user.is_agent:
        raise ProblemError(403, "forbidden", "Only agents may see reports.")
    today = datetime.now(LOCAL_ZONE).date()
    first = _day(start, today.replace(day=1))
    last = _day(end, (first.replace(day=28) + timedelta(days=4)).replace(day=1))
    if last <= first:
        last = first + timedelta(days=1)
    last = min(last, first + timedelta(days=366))
    grouping = GroupBy(group_by) if group_by in GroupBy.__members__.values() else GroupBy.PRIORITY
    report = await fetch_report(
        request, user.actor, _midnight(first), _midnight(last), grouping, None
    )
    if format == "csv":
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="sla-report.csv"'},
        )
    params = {"start": first.isoformat(), "end": last.isoformat(), "group_by": grouping.value}
    queues = await queue_labels(request)
    labelled = [(_label(r, grouping, lang, queues), r) for r in [*report.rows, report.total]]
    return await render(
        request,
        "reports.html",
        lang,
        {
            "report": report,
            "rows": labelled,
            "charts": _charts(labelled[:-1], report, lang),
            "start": first.isoformat(),
            "end": last.isoformat(),
            "group_by": grouping.value,
            "groupings": [(g.value, t(f"group_{g.value}", lang)) for g in GroupBy],
            "csv_url": "reports?" + urlencode({**params, "format": "csv"}),
        },
    )

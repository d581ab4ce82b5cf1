"""GET /api/v1/tickets?q= / ?as_of= and GET /api/v1/reports/sla through the
gateway app (real JWT checks) in front of the tickets service on real NATS and
PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest

from helpdesk.contracts.actors import Role
from tests.integration.tickets.conftest import Tickets
from tests.integration.tickets.test_gateway_tickets import Api
from tests.integration.tickets.test_gateway_tickets import api as api

pytestmark = pytest.mark.integration

PERIOD = {"from": "2026-11-01T00:00:00+02:00", "to": "2026-12-01T00:00:00+02:00"}


async def test_search_over_http(tickets: Tickets, api: Api) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    for subject in ("Ο εκτυπωτής κόλλησε", "Δεν έχω δίκτυο"):
        response = await api.client.post(
            "/api/v1/tickets",
            headers=api.auth(maria),
            json={"subject": subject, "description": "Βοήθεια", "priority": "normal"},
        )
        assert response.status_code == 201
    found = await api.client.get(
        "/api/v1/tickets", params={"q": "ΕΚΤΥΠΩΤΕΣ"}, headers=api.auth(maria)
    )
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    assert [i["subject"] for i in items] == ["Ο εκτυπωτής κόλλησε"]
    assert "<mark>" in items[0]["snippet_html"] or items[0]["rank"] > 0
    combined = await api.client.get(
        "/api/v1/tickets",
        params={"q": "δικτυο", "priority": "high"},
        headers=api.auth(agent),
    )
    assert combined.json()["items"] == []
    bad = await api.client.get("/api/v1/tickets", params={"q": "a\x00b"}, headers=api.auth(agent))
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    as_of = await api.client.get(
        "/api/v1/tickets", params={"as_of": "2026-11-01T00:00:00+02:00"}, headers=api.auth(agent)
    )
    assert as_of.status_code == 200
    assert as_of.json()["items"] == []
    assert "q" in str((await api.client.get("/openapi.json")).json()["paths"]["/api/v1/tickets"])


async def test_report_json_csv_and_403(tickets: Tickets, api: Api) -> None:
    maria = await tickets.user("Μαρία")
    agent = await tickets.user("Agent", Role.AGENT)
    await tickets.ok(
        "submit", maria, subject="=cmd|' /C calc'!A0", description="x", priority="high"
    )
    report = await api.client.get(
        "/api/v1/reports/sla", params={**PERIOD, "group_by": "priority"}, headers=api.auth(agent)
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["from"] == "2026-11-01T00:00:00+02:00"
    assert body["total"]["opened"] == 1
    assert [r["group"] for r in body["rows"]] == ["high"]

    as_csv = await api.client.get(
        "/api/v1/reports/sla",
        params={**PERIOD, "group_by": "queue"},
        headers={**api.auth(agent), "Accept": "text/csv"},
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["group"], r["opened"]) for r in rows] == [("service-desk", "1"), ("*", "1")]
    assert rows[0]["backlog_under_1d"] == "1"

    customer = await api.client.get("/api/v1/reports/sla", params=PERIOD, headers=api.auth(maria))
    assert customer.status_code == 403
    backwards = await api.client.get(
        "/api/v1/reports/sla",
        params={"from": PERIOD["to"], "to": PERIOD["from"]},
        headers=api.auth(agent),
    )
    assert backwards.status_code == 422
    assert "/api/v1/reports/sla" in (await api.client.get("/openapi.json")).json()["paths"]

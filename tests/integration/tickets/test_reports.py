"""SLA reports and `as_of` lists from the event history, checked against figures
computed by hand on a fixed set of tickets driven by a hand-moved clock: a
weekend, a Greek public holiday (28 October, Ohi Day), a pending pause, a 24/7
critical ticket that breaches and escalates (docs/reports.md).

Targets (routing.yaml): normal 480 / 1440 business minutes (first response /
resolution), high 120 / 480, low 960 / 4800, critical 15 / 240 wall minutes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.servicekit.projections import rebuild
from helpdesk.tickets.adapters.history import HistoryProjection
from tests.integration.tickets.conftest import ATHENS, Tickets

pytestmark = pytest.mark.integration

OCTOBER = {"from": "2026-10-01T00:00:00+03:00", "to": "2026-11-01T00:00:00+02:00"}


def athens(*args: int) -> datetime:
    return datetime(*args, tzinfo=ATHENS)  # type: ignore[misc]


class Story:
    def __init__(self, t: Tickets, maria: Actor, anna: Actor, bob: Actor) -> None:
        self.t, self.maria, self.anna, self.bob = t, maria, anna, bob
        self.ids: dict[str, str] = {}

    async def at(self, when: datetime, name: str, actor: Actor, **payload: Any) -> dict[str, Any]:
        self.t.clock.set(when)
        return await self.t.ok(name, actor, **payload)

    async def submit(self, key: str, when: datetime, priority: str) -> None:
        result = await self.at(
            when,
            "submit",
            self.maria,
            subject=f"Ticket {key}",
            description="Περιγραφή",
            priority=priority,
        )
        self.ids[key] = result["ticket_id"]

    async def reply(self, key: str, when: datetime, actor: Actor) -> None:
        await self.at(when, "add_message", actor, ticket_id=self.ids[key], body="Απάντηση")

    async def status(self, key: str, when: datetime, actor: Actor, status: str) -> None:
        await self.at(when, "change_status", actor, ticket_id=self.ids[key], status=status)

    async def take(self, key: str, when: datetime, agent: Actor) -> None:
        await self.at(when, "assign", agent, ticket_id=self.ids[key])

    async def monitor(self, key: str, when: datetime) -> int:
        self.t.clock.set(when)
        return await self.t.app.monitor.check(self.ids[key])  # type: ignore[arg-type]


@pytest.fixture
async def story(tickets: Tickets) -> Story:
    s = Story(
        tickets,
        await tickets.user("Μαρία"),
        await tickets.user("Άννα", Role.AGENT),
        await tickets.user("Bob", Role.AGENT),
    )
    anna, bob, maria = s.anna, s.bob, s.maria
    # T5 normal, opened before October, resolved in it: 60 + 480 + 480 = 1020 min.
    await s.submit("T5", athens(2026, 9, 30, 16), "normal")
    await s.take("T5", athens(2026, 10, 1, 10), anna)
    await s.reply("T5", athens(2026, 10, 1, 10), anna)
    await s.status("T5", athens(2026, 10, 2, 17), anna, "resolved")
    # T6 low, never answered: first response due Tue 6 Oct 17:00, breached by now.
    await s.submit("T6", athens(2026, 10, 5, 9), "low")
    # T1 normal over a weekend: Fri 16-17 + Mon 9-10 = 120 min to the first
    # response; resolved Mon 12:00 = 240 min.
    await s.submit("T1", athens(2026, 10, 23, 16), "normal")
    await s.take("T1", athens(2026, 10, 26, 10), anna)
    await s.reply("T1", athens(2026, 10, 26, 10), anna)
    await s.status("T1", athens(2026, 10, 26, 12), anna, "resolved")
    # T2 normal over Ohi Day (Wed 28 Oct): Tue 16-17 + Thu 9:00-9:30 = 90 min to
    # the first response; pending Thu 10:00 (120 min used) until the requester
    # answers Fri 11:00; resolved Fri 13:00: 120 + 120 = 240 min.
    await s.submit("T2", athens(2026, 10, 27, 16), "normal")
    await s.take("T2", athens(2026, 10, 29, 9, 30), anna)
    await s.reply("T2", athens(2026, 10, 29, 9, 30), anna)
    await s.status("T2", athens(2026, 10, 29, 10), anna, "pending")
    await s.reply("T2", athens(2026, 10, 30, 11), maria)
    await s.status("T2", athens(2026, 10, 30, 13), anna, "resolved")
    # T3 high: first response due Thu 11:00, the monitor breaches it at 11:30,
    # Bob answers at 14:00 (300 min). Still open at the end of October.
    await s.submit("T3", athens(2026, 10, 29, 9), "high")
    assert await s.monitor("T3", athens(2026, 10, 29, 11, 30)) == 1
    await s.take("T3", athens(2026, 10, 29, 14), bob)
    await s.reply("T3", athens(2026, 10, 29, 14), bob)
    # T4 critical on a Saturday (24/7): breached and escalated at 10:20, answered
    # at 10:30 (30 min), resolved at 12:00 (120 min).
    await s.submit("T4", athens(2026, 10, 31, 10), "critical")
    assert await s.monitor("T4", athens(2026, 10, 31, 10, 20)) == 2
    await s.reply("T4", athens(2026, 10, 31, 10, 30), anna)
    await s.status("T4", athens(2026, 10, 31, 12), anna, "resolved")
    tickets.clock.set(athens(2026, 11, 2, 12))
    return s


async def report(s: Story, **params: Any) -> dict[str, Any]:
    reply = await s.t.query("sla_report", s.anna, **{**OCTOBER, **params})
    assert reply.ok, reply.error
    return reply.result  # type: ignore[no-any-return]


def by_group(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["group"]: row for row in result["rows"]}


async def test_report_by_priority_matches_hand_computed_figures(story: Story) -> None:
    result = await report(story, group_by="priority")
    rows = by_group(result)
    assert set(rows) == {"low", "normal", "high", "critical"}
    normal = rows["normal"]
    assert (normal["opened"], normal["resolved"]) == (2, 3)
    assert (normal["first_response_met"], normal["first_response_breached"]) == (2, 0)
    assert normal["first_response_met_pct"] == 100.0
    assert normal["first_response_median_minutes"] == 105.0  # of 90 and 120
    assert normal["first_response_p90_minutes"] == 117.0
    assert (normal["resolution_met"], normal["resolution_breached"]) == (3, 0)
    assert normal["resolution_median_minutes"] == 240.0  # of 240, 240, 1020
    assert normal["resolution_p90_minutes"] == 864.0
    assert normal["backlog"] == 0

    high = rows["high"]
    assert (high["opened"], high["resolved"]) == (1, 0)
    assert (high["first_response_met"], high["first_response_breached"]) == (0, 1)
    assert high["first_response_met_pct"] == 0.0
    assert high["first_response_median_minutes"] == 300.0
    assert high["first_response_breaches"] == 1
    assert high["backlog"] == 1
    assert high["backlog_by_age"]["1d_3d"] == 1

    critical = rows["critical"]
    assert (critical["opened"], critical["resolved"]) == (1, 1)
    assert critical["first_response_breached"] == 1
    assert critical["first_response_median_minutes"] == 30.0
    assert critical["resolution_median_minutes"] == 120.0
    assert critical["resolution_met_pct"] == 100.0
    assert (critical["first_response_breaches"], critical["escalations"]) == (1, 1)

    low = rows["low"]
    assert low["opened"] == 1
    assert low["first_response_breached"] == 1  # unanswered past its due time
    assert low["first_response_median_minutes"] is None
    assert low["backlog_by_age"]["7d_30d"] == 1

    total = result["total"]
    assert (total["opened"], total["resolved"]) == (5, 4)
    assert (total["first_response_met"], total["first_response_breached"]) == (2, 3)
    assert total["first_response_met_pct"] == 40.0
    assert total["first_response_median_minutes"] == 105.0  # of 30, 90, 120, 300
    assert total["first_response_p90_minutes"] == 246.0
    assert total["resolution_met_pct"] == 100.0
    assert total["resolution_median_minutes"] == 240.0  # of 120, 240, 240, 1020
    assert total["resolution_p90_minutes"] == 786.0
    assert total["backlog"] == 2
    assert total["first_response_breaches"] == 2
    assert total["escalations"] == 1


async def test_report_by_agent_and_queue(story: Story) -> None:
    rows = by_group(await report(story, group_by="agent"))
    anna, bob = rows[str(story.anna.user_id)], rows[str(story.bob.user_id)]
    assert (anna["label"], anna["opened"], anna["resolved"]) == ("Άννα", 2, 3)
    assert (bob["label"], bob["opened"], bob["resolved"], bob["backlog"]) == ("Bob", 1, 0, 1)
    assert (rows[""]["opened"], rows[""]["resolved"]) == (2, 1)  # unassigned: T4, T6
    queues = by_group(await report(story, group_by="queue"))
    assert queues["service-desk"]["opened"] == 4
    assert queues["incidents"]["opened"] == 1


async def test_report_as_of_an_earlier_instant(story: Story) -> None:
    # Thursday 29 October 12:00: T2 is pending, T3 breached but unanswered, T4 unborn.
    result = await report(story, group_by="priority", as_of="2026-10-29T12:00:00+02:00")
    total = result["total"]
    assert (total["opened"], total["resolved"]) == (4, 2)  # T1, T2, T3, T6; T1, T5
    assert total["backlog"] == 3  # T2 pending, T3, T6
    assert total["first_response_breached"] == 2  # T3 and T6, both unanswered
    assert total["escalations"] == 0
    assert "critical" not in by_group(result)


async def test_queue_as_of(story: Story) -> None:
    at_1030 = await story.t.ok("list", story.anna, as_of="2026-10-29T10:30:00+02:00")
    statuses = {item["subject"]: item["status"] for item in at_1030["items"]}
    assert statuses == {
        "Ticket T5": "resolved",
        "Ticket T6": "submitted",
        "Ticket T1": "resolved",
        "Ticket T2": "pending",
        "Ticket T3": "submitted",
    }
    pending = await story.t.ok(
        "list", story.anna, status="pending", as_of="2026-10-29T10:30:00+02:00"
    )
    assert [i["subject"] for i in pending["items"]] == ["Ticket T2"]
    now = await story.t.ok("list", story.anna, status="pending")
    assert now["items"] == []
    before = await story.t.ok("list", story.anna, as_of="2026-09-01T00:00:00+03:00")
    assert before["items"] == []


async def test_customers_may_not_see_reports(story: Story) -> None:
    reply = await story.t.query("sla_report", story.maria, **OCTOBER)
    assert not reply.ok
    assert reply.error.code == "forbidden"


async def test_report_is_the_same_after_a_rebuild(story: Story) -> None:
    before = await report(story, group_by="priority")
    await rebuild(story.t.pool, HistoryProjection(story.t.app.policy))
    assert await report(story, group_by="priority") == before


async def test_bad_periods_are_refused(story: Story) -> None:
    reply = await story.t.query(
        "sla_report", story.anna, **{"from": OCTOBER["to"], "to": OCTOBER["from"]}
    )
    assert not reply.ok
    assert reply.error.code == "validation_error"


async def test_ratings_count_for_the_agent_and_queue_the_ticket_had(story: Story) -> None:
    # Maria rates Anna's T1 and T2 (service desk) and the unassigned T4 (incidents).
    for key, rating in (("T1", 5), ("T2", 4), ("T4", 2)):
        await story.at(
            athens(2026, 10, 31, 13), "rate", story.maria, ticket_id=story.ids[key], rating=rating
        )
    agents = by_group(await report(story, group_by="agent"))
    anna = agents[str(story.anna.user_id)]
    assert (anna["ratings"], anna["rating_average"]) == (2, 4.5)
    assert (agents[""]["ratings"], agents[""]["rating_average"]) == (1, 2.0)
    assert agents[str(story.bob.user_id)]["ratings"] == 0
    queues = await report(story, group_by="queue")
    rows = by_group(queues)
    assert (rows["service-desk"]["ratings"], rows["service-desk"]["rating_average"]) == (2, 4.5)
    assert (rows["incidents"]["ratings"], rows["incidents"]["rating_average"]) == (1, 2.0)
    assert (queues["total"]["ratings"], queues["total"]["rating_average"]) == (3, 3.67)
    # Ratings given after the period are not in it.
    november = {"from": "2026-11-01T00:00:00+02:00", "to": "2026-12-01T00:00:00+02:00"}
    assert (await report(story, group_by="queue", **november))["total"]["ratings"] == 0

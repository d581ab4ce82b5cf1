"""A resolved ticket closes by itself, end to end (issue 29): the real SLA
monitor of a running tickets service closes it after HELPDESK_AUTO_CLOSE_DAYS
business days and the requester gets the mail. The system here runs a routing
policy whose business day is the whole day, every day, so that 0.0001 of one
(about 9 s) passes at any hour the tests run. The closing mail's signed link still
rates the resolution."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import holidays
import httpx
import pytest
import yaml

from tests.e2e.harness import System, mail_text, start_system
from tests.e2e.test_agents_flow import signed_in_agent
from tests.e2e.test_tickets_flow import auth, register_customer, resolve, submit, wait_mail
from tests.e2e.test_workspace_flow import RATING_LINK
from tests.eventually import eventually
from tests.servers import Servers

pytestmark = pytest.mark.e2e

SHIPPED_POLICY = Path(__file__).parents[2] / "services/tickets/src/helpdesk/tickets/routing.yaml"


@pytest.fixture(scope="module")
async def always_open(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    policy = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    hours = policy["business_hours"]
    if date.today() in holidays.country_holidays(hours["holidays"]["country"]):
        pytest.skip("a public holiday: the business clock stands still today")
    policy["business_hours"] = hours | {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "opens": "00:00",
        "closes": "23:59",
    }
    workdir = tmp_path_factory.mktemp("auto-close")
    path = workdir / "routing.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    env = {"HELPDESK_ROUTING_POLICY": str(path), "HELPDESK_AUTO_CLOSE_DAYS": "0.0001"}
    running = await start_system(workdir / "system", servers, extra_env=env)
    yield running
    await asyncio.to_thread(running.stop)


async def test_a_resolved_ticket_closes_by_itself_and_its_requester_hears_of_it(
    always_open: System,
) -> None:
    system = always_open
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        agent = await signed_in_agent(system, client, f"acagent{tag}", "Agent")
        email, customer = await register_customer(system, client, f"ac{tag}")
        body = {"subject": f"Οθόνη {tag}", "description": "Σβήνει.", "priority": "normal"}
        ticket = (await submit(client, customer, body)).json()
        url = f"/api/v1/tickets/{ticket['ticket_id']}"
        await resolve(client, url, agent)

        async def closed() -> bool:
            answer = await client.get(url, headers=auth(customer))
            return bool(answer.json()["status"] == "closed")

        assert await eventually(closed, timeout=40, interval=0.5)
        closed_mail = await wait_mail(system, email, f"{ticket['number']} έκλεισε")
        # Its signed link still rates the resolution, without a sign-in.
        link = RATING_LINK.search(mail_text(closed_mail))
        assert link is not None, mail_text(closed_mail)
        async with httpx.AsyncClient(base_url=system.url, timeout=15) as anonymous:
            page = await anonymous.get(link.group(0))
        assert page.status_code == 200, page.text
        assert ticket["number"] in page.text
        # Closed for good: the requester cannot reopen it.
        reopen = await client.post(f"{url}/reopen", headers=auth(customer), json={})
        assert reopen.status_code == 409, reopen.text

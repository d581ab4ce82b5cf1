"""A steady load of ticket submissions that rides out outages: each request
is retried (after 5xx, timeouts, refused connections) until it is answered
201, the way a patient client would. Every answer is counted."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from helpdesk.contracts import identity
from helpdesk.contracts.actors import Role
from helpdesk.contracts.priorities import Priority
from tests import operator
from tests.servers import Servers

PASSWORD = "Chaos-Helpdesk-2026!"


@dataclass
class LoadResult:
    # subject tag -> ticket id of the 201 answer
    acknowledged: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    given_up: list[str] = field(default_factory=list)


async def create_customers(servers: Servers, count: int, tag: str) -> list[str]:
    """Active customers created by the operator command (no activation mail)."""
    commands = [
        identity.CreateUser(
            name=f"Chaos {n}",
            username=f"chaos{tag}{n}",
            email=f"chaos{tag}{n}@example.org",
            password=PASSWORD,
            roles=[Role.CUSTOMER],
            locale="el" if n % 2 else "en",
        )
        for n in range(count)
    ]
    return [created.username for created in await operator.create_users(servers, commands)]


async def login(client: httpx.AsyncClient, username: str) -> str:
    for _ in range(100):
        response = await client.post(
            "/api/v1/sessions", json={"username": username, "password": PASSWORD}
        )
        if response.status_code == 200:
            return str(response.json()["access_token"])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{username} cannot log in: {response.status_code} {response.text}")


PRIORITIES = list(Priority)


async def submit_until_answered(
    client: httpx.AsyncClient,
    token: str,
    tag: str,
    n: int,
    result: LoadResult,
    give_up_after: float,
) -> None:
    body = {
        "subject": f"[{tag}] chaos",
        "description": "Δοκιμή αντοχής.",
        "priority": PRIORITIES[n % len(PRIORITIES)].value,
    }
    # A well-behaved API client: one Idempotency-Key per ticket, kept across its
    # retries, so a 201 lost to a crash never becomes a second ticket.
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    deadline = time.monotonic() + give_up_after
    while time.monotonic() < deadline:
        try:
            response = await client.post("/api/v1/tickets", json=body, headers=headers)
        except httpx.HTTPError as exc:
            result.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
            continue
        result.statuses[response.status_code] += 1
        if response.status_code == 201:
            result.acknowledged[tag] = response.json()["ticket_id"]
            return
        if response.status_code < 500 and response.status_code != 429:
            result.errors[f"http {response.status_code}: {response.text[:80]}"] += 1
        await asyncio.sleep(0.5)
    result.given_up.append(tag)


async def run_load(
    base_url: str,
    tokens: list[str],
    total: int,
    per_second: float,
    *,
    give_up_after: float = 180.0,
) -> LoadResult:
    """`total` tickets started at `per_second`, spread over the customers."""
    result = LoadResult()
    run = uuid.uuid4().hex[:6]
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
        tasks = []
        for n in range(total):
            tag = f"{run}-{n}"
            token = tokens[n % len(tokens)]
            tasks.append(
                asyncio.create_task(
                    submit_until_answered(client, token, tag, n, result, give_up_after)
                )
            )
            await asyncio.sleep(1 / per_second)
        await asyncio.gather(*tasks)
    return result


async def prepare_customers(servers: Servers, base_url: str, count: int) -> list[str]:
    names = await create_customers(servers, count, uuid.uuid4().hex[:4])
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        return [await login(client, name) for name in names]

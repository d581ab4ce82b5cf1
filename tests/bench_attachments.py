"""`make bench`, attachments (issue 14): a 10 MiB file up and down through the
gateway against a raw nats-py object-store put/get of the same size in the same
run, and the gateway's peak RSS while 8 clients upload 20 MiB each at once.

Called from tests/bench.py (`bench_attachments`), which adds `section(...)` to
docs/performance.md.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import httpx
import nats
import psutil

from tests import operator
from tests.e2e.harness import start_system
from tests.servers import Servers

MIB = 1024 * 1024
SIZE = 10 * MIB
UPLOADERS = 8
BIG = 20 * MIB
ROUNDS = 3


def text_file(size: int) -> bytes:
    """Unique bytes each time (storage is content-addressed), sniffed as text."""
    return os.urandom(size // 2).hex().encode()


async def _raw(servers: Servers, nats_url: str) -> tuple[float, float]:
    nc = await nats.connect(nats_url, **servers.nats_options())
    try:
        store = await nc.jetstream().create_object_store(f"bench{uuid.uuid4().hex[:8]}")
        put = get = 0.0
        for i in range(ROUNDS):
            data = text_file(SIZE)
            started = time.perf_counter()
            await store.put(f"o{i}", data)
            put = max(put, SIZE / MIB / (time.perf_counter() - started))
            started = time.perf_counter()
            got = await store.get(f"o{i}")
            get = max(get, SIZE / MIB / (time.perf_counter() - started))
            assert got.data == data
        return put, get
    finally:
        await nc.close()


async def _customer(
    system: object, servers: Servers, nats_url: str, client: httpx.AsyncClient
) -> str:
    username, password = f"att{uuid.uuid4().hex[:6]}", "correct horse battery staple"
    await operator.create_user(
        servers, username, name="Bench", password=password, nats_url=nats_url
    )
    answer = await client.post(
        "/api/v1/sessions", json={"username": username, "password": password}
    )
    return str(answer.json()["access_token"])


async def _ticket(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    body = {"subject": "Logs", "description": "See the files.", "priority": "normal"}
    for _ in range(50):
        answer = await client.post("/api/v1/tickets", headers=headers, json=body)
        if answer.status_code == 201:
            return str(answer.json()["ticket_id"])
        await asyncio.sleep(0.2)
    raise RuntimeError(f"no ticket: {answer.text}")


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], ticket: str, data: bytes
) -> str:
    answer = await client.post(
        f"/api/v1/tickets/{ticket}/attachments",
        headers=headers,
        files=[("file", ("app.log", data, "text/plain"))],
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["items"][0]["attachment_id"])


async def bench_attachments(workdir: Path, servers: Servers) -> dict[str, float]:
    system = await start_system(workdir / "attachments", servers)
    figures: dict[str, float] = {}
    try:
        figures["raw_put"], figures["raw_get"] = await _raw(servers, system.nats.url)
        async with httpx.AsyncClient(base_url=system.url, timeout=120) as client:
            headers = {
                "Authorization": f"Bearer {await _customer(system, servers, system.nats.url, client)}"
            }
            ticket = await _ticket(client, headers)
            up = down = 0.0
            for _ in range(ROUNDS):
                data = text_file(SIZE)
                started = time.perf_counter()
                attachment = await _upload(client, headers, ticket, data)
                up = max(up, SIZE / MIB / (time.perf_counter() - started))
                started = time.perf_counter()
                got = await client.get(
                    f"/api/v1/tickets/{ticket}/attachments/{attachment}", headers=headers
                )
                down = max(down, SIZE / MIB / (time.perf_counter() - started))
                assert got.content == data
            figures["gateway_up"], figures["gateway_down"] = up, down

            gateway = psutil.Process(system.processes["gateway"].process.pid)  # type: ignore[union-attr]
            tickets = [await _ticket(client, headers) for _ in range(UPLOADERS)]
            files = [text_file(BIG) for _ in range(UPLOADERS)]
            await asyncio.sleep(1.0)
            idle = gateway.memory_info().rss
            peak = idle
            done = asyncio.Event()

            async def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, gateway.memory_info().rss)
                    await asyncio.sleep(0.01)

            sampler = asyncio.create_task(sample())
            started = time.perf_counter()
            await asyncio.gather(
                *(_upload(client, headers, t, f) for t, f in zip(tickets, files, strict=True))
            )
            figures["concurrent_s"] = time.perf_counter() - started
            done.set()
            await sampler
            figures["idle_rss_mib"], figures["peak_rss_mib"] = idle / MIB, peak / MIB
    finally:
        system.stop()
    return figures


def section(f: dict[str, float]) -> str:
    ok = lambda cond: "met" if cond else "NOT met"  # noqa: E731
    up, down = f["gateway_up"] / f["raw_put"], f["gateway_down"] / f["raw_get"]
    limit = 2 * f["idle_rss_mib"] + 64
    return f"""
## Attachments (issue 14, `tests/bench_attachments.py`)

| measure | helpdesk | baseline | ratio | target |
| --- | ---: | ---: | ---: | --- |
| upload of a 10 MiB file, MiB/s (best of {ROUNDS}) | {f["gateway_up"]:.1f} through the gateway (`POST …/attachments` → 201) | {f["raw_put"]:.1f} raw nats-py `object_store.put` | {up:.2f}× | ≥ 0.5× — {ok(up >= 0.5)} |
| download of it, MiB/s | {f["gateway_down"]:.1f} (`GET …/attachments/{{id}}`) | {f["raw_get"]:.1f} raw nats-py `object_store.get` | {down:.2f}× | ≥ 0.5× — {ok(down >= 0.5)} |
| gateway peak RSS, {UPLOADERS} concurrent 20 MiB uploads ({f["concurrent_s"]:.1f} s) | {f["peak_rss_mib"]:.0f} MiB | idle {f["idle_rss_mib"]:.0f} MiB | | < 2 × idle + 64 = {limit:.0f} MiB — {ok(f["peak_rss_mib"] < limit)} |

- The gateway's upload includes what the raw put does not: the multipart parse into
  a spool (1 MiB in memory, then a temporary file), the type sniffing, the
  SHA-256, the ticket check and the `add_attachments` command. The download asks
  the tickets service first (authorization), then streams the chunks with
  JetStream direct gets, one 128 KiB chunk at a time.
- nats-py's `get` assembles the object in memory, copying it again per chunk.
- Files are hex text (allowed, not images): the image path (Pillow decode,
  ≤ 2 at a time per process) is not in these figures.
"""

"""/readyz: unready when a dependency check fails; still ready, but saying what is
degraded, when only a part of the service waits for a dependency (the notifier's
mail while the SMTP server is away)."""

from __future__ import annotations

import httpx

from helpdesk.servicekit.ops import ops_app


async def ready() -> bool:
    return True


async def not_ready() -> bool:
    return False


async def readyz(app: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        return await client.get("/readyz")


async def test_a_degradation_is_reported_without_making_the_service_unready() -> None:
    detail: list[str | None] = ["SMTP server unreachable since 2026-12-07T01:00:00+00:00"]
    app = ops_app([("database", ready)], degradations=[("smtp", lambda: detail[0])])

    answer = await readyz(app)
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "degraded",
        "checks": {"database": True},
        "degraded": {"smtp": detail[0]},
    }

    detail[0] = None
    answer = await readyz(app)
    assert answer.json() == {"status": "ready", "checks": {"database": True}}


async def test_a_failed_check_is_unready_whatever_is_degraded() -> None:
    app = ops_app([("database", not_ready)], degradations=[("smtp", lambda: "away")])
    answer = await readyz(app)
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready"

"""The operational HTTP endpoints every service serves: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = tuple[str, Callable[[], Awaitable[bool]]]
# (name, what is degraded now or None): reported by /readyz without making the
# service unready, for a dependency only part of the service needs.
Degradation = tuple[str, Callable[[], str | None]]


async def _run_checks(checks: Sequence[ReadinessCheck], seconds: float) -> dict[str, bool]:
    results: dict[str, bool] = {}
    for name, check in checks:
        try:
            # A dependency that hangs (a stalled database) answers "not ready", not a timeout.
            async with asyncio.timeout(seconds):  # not wait_for: see servicekit.waits
                results[name] = bool(await check())
        except Exception:
            results[name] = False
    return results


def add_ops_routes(
    app: FastAPI,
    checks: Sequence[ReadinessCheck],
    liveness: Sequence[ReadinessCheck] = (),
    *,
    degradations: Sequence[Degradation] = (),
    timeout: float = 2.0,
) -> None:
    """`/readyz`: every dependency reachable (take traffic); "degraded", still
    200, with what is degraded when a dependency only part of the service needs
    is away. `/healthz`: the process itself works (a failing answer means
    restart it); a dependency outage alone never fails it."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        results = await _run_checks(liveness, timeout)
        alive = all(results.values())
        return JSONResponse(
            {"status": "ok" if alive else "failing", "checks": results},
            status_code=200 if alive else 503,
        )

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = await _run_checks(checks, timeout)
        ready = all(results.values())
        degraded = {name: detail for name, check in degradations if (detail := check())}
        status = "not ready" if not ready else "degraded" if degraded else "ready"
        body: dict[str, object] = {"status": status, "checks": results}
        if degraded:
            body["degraded"] = degraded
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def ops_app(
    checks: Sequence[ReadinessCheck],
    liveness: Sequence[ReadinessCheck] = (),
    degradations: Sequence[Degradation] = (),
) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_ops_routes(app, checks, liveness, degradations=degradations)
    return app

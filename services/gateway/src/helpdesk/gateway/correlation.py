"""The request's correlation id: the client's, if well-formed, else a new one."""

from __future__ import annotations

import re
from uuid import uuid4

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk.contracts.subjects import CORRELATION_HEADER
from helpdesk.servicekit.logging import bind_correlation_id

_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class CorrelationIdMiddleware:
    """Binds the request's correlation id (the client's, if well-formed, else a
    new one) to logs, `request.state` and the response header. Plain ASGI:
    FastAPI's `@app.middleware` wrapper costs more than the rest of a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get(CORRELATION_HEADER, "")
        correlation_id = offered if _CORRELATION_ID.fullmatch(offered) else str(uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        bind_correlation_id(correlation_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        await self.app(scope, receive, send_with_id)

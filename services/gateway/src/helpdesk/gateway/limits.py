"""Request bodies are bounded before anyone reads them.

A JSON or form body larger than `MAX_BODY_BYTES` is answered 413 (problem+json)
without being parsed: by its `Content-Length` when it declares one, else as
soon as the streamed bytes pass the limit. Nothing the API or the portal
accepts comes near it (a ticket's description is at most 20,000 characters).

The routes that take files (`FILE_ROUTES`: the attachments upload and the
portal's ticket forms) get `file_route_max_bytes` instead: each file in them is
then checked against its own limit (HELPDESK_ATTACHMENT_MAX_BYTES) while it is
received into a spool, so memory stays bounded either way.

Before a 413 the rest of the body is read and thrown away, up to
`DRAIN_MAX_BYTES`: a client that sends its whole body before reading the
answer (Python's urllib, a browser posting a form; anything without
`Expect: 100-continue`) would otherwise meet a closed connection, a broken
pipe instead of the 413. Beyond that bound the 413 goes out with
`Connection: close`, and the server closes the connection after it.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk.gateway.problems import ProblemError

MAX_BODY_BYTES = 1024 * 1024
# How much of a refused body is read (and discarded) so the client sees the 413.
DRAIN_MAX_BYTES = 64 * 1024 * 1024
FILE_ROUTES = re.compile(
    r"/api/v1/tickets/[^/]+/attachments|/helpdesk/[a-z]{2}/tickets/(new|[^/]+/messages)"
)


def _refusal(limit: int) -> ProblemError:
    return ProblemError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")


async def _drain(receive: Receive, budget: int) -> bool:
    """Read and discard the rest of the body; False if it is longer than `budget`
    (or the client went away), so the connection must not be reused."""
    while budget >= 0:
        message = await receive()
        if message["type"] != "http.request":
            return False
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return budget >= 0
    return False


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int, drained: bool) -> None:
    response = _refusal(limit).response(scope["path"])
    if not drained:
        response.headers["connection"] = "close"
    await response(scope, receive, send)


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = MAX_BODY_BYTES,
        file_route_max_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.file_route_max_bytes = file_route_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        if self.file_route_max_bytes and FILE_ROUTES.fullmatch(scope["path"]):
            limit = self.file_route_max_bytes
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            drained = int(declared) <= DRAIN_MAX_BYTES and await _drain(receive, DRAIN_MAX_BYTES)
            await _refuse(scope, receive, send, limit, drained)
            return

        seen = 0
        too_large = False
        ended = False  # the client's last body message was read

        async def counting_receive() -> Message:
            # Past the limit the app is told the body ended; whatever it then
            # answers is replaced by the 413 below.
            nonlocal seen, too_large, ended
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                ended = not message.get("more_body", False)
                if seen > limit:
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def refusing_send(message: Message) -> None:
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start":
                drained = ended or await _drain(receive, DRAIN_MAX_BYTES - seen)
                await _refuse(scope, receive, send, limit, drained)

        await self.app(scope, counting_receive, refusing_send)

"""The NATS message being handled, without FastStream injecting it.

FastStream can pass a handler its message (`message: NatsMessage`), but it
resolves that parameter in a worker thread, on every message: about 0.2 ms of
CPU each, half of its dispatch cost (docs/performance.md). The kit's routers
carry `CurrentMessage` instead, and its handlers call `current_message()`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage
from faststream.nats import NatsMessage

_current: ContextVar[NatsMessage] = ContextVar("helpdesk_current_message")


class CurrentMessage(BaseMiddleware):
    """Makes the message being consumed `current_message()` for its handler."""

    async def consume_scope(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        token = _current.set(msg)  # type: ignore[arg-type]  # a NATS router's messages
        try:
            return await call_next(msg)
        finally:
            _current.reset(token)


def current_message() -> NatsMessage:
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("no NATS message in hand: the router needs CurrentMessage") from None

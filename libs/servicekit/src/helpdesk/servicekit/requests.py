"""The one request–reply client: a command or query to the service its contract
names, over NATS, and its typed reply back.

`await ask(nc, SubmitTicket(...), within=seconds)` sends to the subject the contract
names and returns the result type it names. A service's typed "no" comes back
as `Refused` (with the service's `CommandError`: code, message, field errors,
Retry-After); no answer at all (no service listening, a timeout, NATS away) as
`Unanswered`, a `ConnectionError`. The gateway, the mailgate and the CLI each
map those two to their own edge: a problem response, a retry, a one-line message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import nats.errors
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel

from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Refused, Reply

ResultT = TypeVar("ResultT", bound=BaseModel)

Why = Literal["no_responders", "timeout", "not_connected", "nats_error"]


class Unanswered(ConnectionError):
    """Nobody answered `subject`: the caller may try again later."""

    def __init__(self, subject: str, why: Why, detail: str = "") -> None:
        super().__init__(f"{subject}: {why}" + (f" ({detail})" if detail else ""))
        self.subject = subject
        self.why = why


async def ask_raw(
    nc: NatsClient | None,
    subject: str,
    payload: BaseModel,
    *,
    within: float,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The reply's bytes, unparsed (for callers that pass them on as they are)."""
    if nc is None or not nc.is_connected:
        raise Unanswered(subject, "not_connected")
    try:
        msg = await nc.request(
            subject, payload.model_dump_json().encode(), timeout=within, headers=dict(headers or {})
        )
    except nats.errors.NoRespondersError:
        raise Unanswered(subject, "no_responders") from None
    except nats.errors.TimeoutError:
        raise Unanswered(subject, "timeout") from None
    except nats.errors.Error as exc:
        raise Unanswered(subject, "nats_error", repr(exc)) from None
    return bytes(msg.data)


def result_of(command: Request[ResultT], data: bytes) -> ResultT:
    """The result in a reply to `command`, or the service's refusal raised."""
    result_type: type[Any] = command.result_type()
    reply = Reply[result_type].model_validate_json(data)  # type: ignore[valid-type]
    if not reply.ok or reply.result is None:
        if reply.error is None:
            raise Refused("the service answered without a result", code="internal_error")
        error = reply.error
        raise Refused(
            error.message,
            code=error.code,
            field_errors=error.field_errors,
            retry_after=error.retry_after,
        )
    result: ResultT = reply.result
    return result


async def ask(
    nc: NatsClient | None,
    command: Request[ResultT],
    *,
    within: float,
    headers: Mapping[str, str] | None = None,
) -> ResultT:
    data = await ask_raw(nc, command.nats_subject(), command, within=within, headers=headers)
    return result_of(command, data)

"""Commands and queries to the services over NATS request-reply.

`send(request, SubmitTicket(...))` goes to the subject the contract names and
returns the result type it names; a refusal becomes the problem it maps to.
"""

from __future__ import annotations

from typing import TypeVar

import nats.errors
from fastapi import Request
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel

from helpdesk.contracts.messages import Request as Command
from helpdesk.contracts.replies import Reply
from helpdesk.contracts.subjects import AUTHORIZATION_HEADER, CORRELATION_HEADER
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.problems import ProblemError
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

ResultT = TypeVar("ResultT", bound=BaseModel)

RETRY_AFTER_SECONDS = 5


def _unavailable(reason: str) -> ProblemError:
    return ProblemError(
        503,
        "unavailable",
        "The helpdesk is briefly unavailable. Please try again in a few seconds.",
        retry_after=RETRY_AFTER_SECONDS,
    ).with_log(reason)


def _headers(request: Request) -> dict[str, str]:
    headers = {CORRELATION_HEADER: request.state.correlation_id}
    # Verified for this request (auth.claims_of); the service checks it again
    # against the command's actor: the gateway cannot assert who is asking.
    token = getattr(request.state, "access_token", None)
    if token:
        headers[AUTHORIZATION_HEADER] = f"Bearer {token}"
    return headers


async def request_raw(request: Request, subject: str, payload: BaseModel) -> bytes:
    """The raw reply to `payload` on `subject`; 503 when NATS or the service is away."""
    gateway = gateway_of(request)
    nc: NatsClient | None = gateway.nats
    if nc is None or not nc.is_connected:
        raise _unavailable("nats not connected")
    try:
        msg = await nc.request(
            subject,
            payload.model_dump_json().encode(),
            timeout=gateway.settings.command_timeout,
            headers=_headers(request),
        )
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
        raise _unavailable(f"{subject}: {type(exc).__name__}") from None
    except nats.errors.Error as exc:
        raise _unavailable(f"{subject}: {exc!r}") from None
    return bytes(msg.data)


async def send(request: Request, command: Command[ResultT]) -> ResultT:
    """Send a command or query; return its result or raise the problem its error maps to."""
    result_type = command.result_type()
    reply = Reply[result_type].model_validate_json(  # type: ignore[valid-type]
        await request_raw(request, command.nats_subject(), command)
    )
    if not reply.ok or reply.result is None:
        assert reply.error is not None
        raise ProblemError.from_command_error(reply.error)
    return reply.result  # type: ignore[no-any-return]

"""Commands and queries to the services over NATS request-reply.

`send(request, SubmitTicket(...))` goes to the subject the contract names and
returns the result type it names; a refusal becomes the problem it maps to.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel

from helpdesk.contracts.messages import Request as Command
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.subjects import AUTHORIZATION_HEADER, CORRELATION_HEADER
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.problems import ProblemError
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.requests import Unanswered, ask

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


async def send(request: Request, command: Command[ResultT]) -> ResultT:
    """Send a command or query; return its result or raise the problem its error
    maps to (503 when NATS or the service does not answer)."""
    gateway = gateway_of(request)
    try:
        return await ask(
            gateway.nats,
            command,
            within=gateway.settings.command_timeout,
            headers=_headers(request),
        )
    except Unanswered as exc:
        raise _unavailable(str(exc)) from None
    except Refused as refused:
        raise ProblemError.from_command_error(refused.error) from None

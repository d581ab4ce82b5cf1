"""What the /api/v1 routers of accounts and second factors share."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from helpdesk.contracts.messages import Request as Command
from helpdesk.gateway.auth import client_address

CommandT = TypeVar("CommandT", bound=Command[Any])


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


# `dependencies=` of a route whose answer holds a secret (tokens, a TOTP seed,
# recovery codes, a passkey ceremony): no browser or proxy keeps a copy.
NO_STORE = [Depends(_no_store)]


def from_client(
    request: Request, command_type: type[CommandT], body: BaseModel, **fields: Any
) -> CommandT:
    """The command for a request's body (and `fields`), with the client's address
    its rate limits count by."""
    values = {**body.model_dump(), **fields, "client_address": client_address(request)}
    return command_type.model_validate(values)

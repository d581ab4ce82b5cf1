"""Commands and queries: the one handler shape of every service.

A service declares a table `{RequestType: handler}`; each handler is a plain
`async def handler(command: RequestType) -> ResultType` that returns its
result or raises `Refused` (domain errors derive from it). The kit:

* derives the subject from the contract (`RequestType.nats_subject()`) and
  serves it in the service's queue group;
* lets FastStream validate the body once into the typed model, so the
  AsyncAPI document shows the contract;
* answers every way a handler can end with a typed `Reply`: its result, its
  refusal, `validation_error` with field errors, `unavailable` (+ Retry-After)
  when a dependency is down, `internal` for a bug. A handler that raises never
  leaves the caller waiting for a timeout;
* proves the caller of every request that names an `actor`: the gateway sends
  the caller's access token in the `Authorization` header, and the actor must
  be the token's (user, roles, session) — whoever can publish on the bus
  cannot act as somebody else. A request without an actor field is for NATS
  permissions alone to guard (operator and mail-intake subjects).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias, TypeVar

import asyncpg
from faststream.middlewares import ExceptionMiddleware
from faststream.nats import NatsRouter
from pydantic import BaseModel, ValidationError

from helpdesk.contracts.actors import AccessTokenClaims, Actor
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import FieldError, Refused, Reply
from helpdesk.contracts.subjects import AUTHORIZATION_HEADER
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.logging import describe_error, get_logger
from helpdesk.servicekit.messages import CurrentMessage, current_message

log = get_logger(__name__)

T = TypeVar("T")
DepsT = TypeVar("DepsT")

Handler: TypeAlias = Callable[[Any], Awaitable[BaseModel]]
Handlers: TypeAlias = Mapping[type[Request[Any]], Handler]
# Access token -> its verified claims, or `Refused` (see servicekit.access_tokens).
TokenVerifier: TypeAlias = Callable[[str], AccessTokenClaims]

# Requests one replica handles at once: a slow one (a password hash, a retried
# transaction) must not queue the others behind it.
CONCURRENCY = 16

# What a dependency outage looks like from a handler: the database refusing or
# dropping connections. The caller is told to come back, not that we broke.
OUTAGES: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
RETRY_AFTER_OUTAGE = 2


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as the contract's `FieldError`s, one way for every service.

    FastStream reports a body field at `(<parameter>, <field>, …)`; the parameter
    name is ours, not the client's, so it is dropped.
    """
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in err["loc"]]
        if loc and loc[0] == "command":
            loc = loc[1:]
        errors.append(
            FieldError(
                field=".".join(loc) or "body",
                message=str(err["msg"]).removeprefix("Value error, "),
            )
        )
    return errors


def invalid(errors: list[FieldError]) -> Refused:
    """A refusal for input that passed the contract but not a business rule."""
    return Refused("Some fields are invalid.", code="validation_error", field_errors=errors)


def _validation_failed(exc: ValidationError) -> Reply[Any]:
    return Reply(ok=False, error=invalid(field_errors(exc)).error)


def _failed(exc: Exception) -> Reply[Any]:
    if isinstance(exc, OUTAGES):
        log.warning("dependency unavailable", error=type(exc).__name__)
        return Reply.failure(
            "unavailable", "Please try again shortly.", retry_after=RETRY_AFTER_OUTAGE
        )
    # The type only: an exception's text may quote the input (a password, a token);
    # a pydantic error's always does, so it is described without its input values.
    if isinstance(exc, ValidationError):
        log.error("handler failed", error=describe_error(exc))
    else:
        log.error("handler failed", error=type(exc).__name__, exc_info=exc)
    return Reply.failure("internal", "Something went wrong on our side.")


def _names_an_actor(request_type: type[Request[Any]]) -> bool:
    return "actor" in request_type.model_fields


def prove_actor(actor: Actor, authorization: str | None, verify: TokenVerifier) -> None:
    """Refuse unless `actor` is exactly who the bearer token says (user, roles, session)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refused("This request carries no access token.", code="unauthenticated")
    claims = verify(token)
    if (
        str(actor.user_id) != claims.sub
        or sorted(actor.roles) != sorted(claims.roles)
        or (actor.session_id or "") != claims.sid
    ):
        raise Refused("The actor is not the token's.", code="unauthenticated")


def _handle(
    request_type: type[Request[Any]], handler: Handler, verify: TokenVerifier | None
) -> Callable[..., Any]:
    check_actor = _names_an_actor(request_type)
    if check_actor and verify is None:
        raise TypeError(f"{request_type.__name__} names an actor: the service needs a verifier")

    async def handle(command: Any) -> Reply[Any]:
        try:
            if check_actor and command.actor is not None:
                assert verify is not None
                headers = current_message().headers
                prove_actor(command.actor, headers.get(AUTHORIZATION_HEADER), verify)
            return Reply.success(await handler(command))
        except Refused as refused:
            return Reply(ok=False, error=refused.error)

    # FastStream reads the annotations: the body is validated into (and documented
    # as) the contract.
    handle.__annotations__ = {"command": request_type, "return": Reply[Any]}
    handle.__name__ = handle.__qualname__ = request_type.__name__
    handle.__doc__ = request_type.__doc__ or f"{request_type.nats_subject('<service>')}"
    return handle


def router(
    service: str, handlers: Handlers, verify_token: TokenVerifier | None = None
) -> NatsRouter:
    """A FastStream router serving each request type of `handlers` in `service`'s
    queue group; `verify_token` proves the actor of those that name one."""
    served = NatsRouter(
        middlewares=[
            CurrentMessage,
            ExceptionMiddleware(
                publish_handlers={ValidationError: _validation_failed, Exception: _failed}
            ),
        ]
    )
    for request_type, handler in handlers.items():
        served.subscriber(
            request_type.nats_subject(service), queue=service, max_workers=CONCURRENCY
        )(_handle(request_type, handler, verify_token))
    return served


def bind(
    deps: DepsT, table: Mapping[type[Request[Any]], Callable[[Any, DepsT], Awaitable[BaseModel]]]
) -> Handlers:
    """`{Command: handler(command, deps)}` -> `{Command: handler(command)}`.

    Handlers are plain functions of the command and the service's dependencies
    (a unit of work, a clock, a policy …); the composition root binds the real
    ones, a use-case test passes fakes.
    """

    def bound(handler: Callable[[Any, DepsT], Awaitable[BaseModel]]) -> Handler:
        async def call(command: Any) -> BaseModel:
            return await handler(command, deps)

        return call

    return {request_type: bound(handler) for request_type, handler in table.items()}


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
    """Run a load–decide–save attempt again when another writer moved the stream first.

    The last attempt's `ConcurrencyError` is a refusal the caller can act on.
    """
    for _ in range(attempts):
        try:
            return await attempt()
        except ConcurrencyError:
            log.info("stream changed concurrently; retrying")
    raise Refused("This changed while we were saving it; please try again.")


__all__ = [
    "CONCURRENCY",
    "Handler",
    "Handlers",
    "TokenVerifier",
    "bind",
    "field_errors",
    "invalid",
    "prove_actor",
    "retry_on_conflict",
    "router",
]

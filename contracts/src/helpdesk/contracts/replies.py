"""Typed replies of commands and queries sent over NATS request-reply.

A handler returns its result, or raises `Refused` (or a domain error derived
from it); the service kit turns either into a `Reply`, and the gateway maps
`CommandError.code` to an HTTP status with `ERROR_STATUS`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

ResultT = TypeVar("ResultT", bound=BaseModel)


class FieldError(BaseModel):
    field: str
    message: str


class CommandError(BaseModel):
    code: str
    message: str
    field_errors: list[FieldError] = []
    retry_after: int | None = None


class Reply(BaseModel, Generic[ResultT]):
    model_config = ConfigDict(frozen=True)

    ok: bool
    result: ResultT | None = None
    error: CommandError | None = None

    @classmethod
    def success(cls, result: ResultT) -> Reply[ResultT]:
        return cls(ok=True, result=result)

    @classmethod
    def failure(
        cls,
        code: str,
        message: str,
        *,
        field_errors: list[FieldError] | None = None,
        retry_after: int | None = None,
    ) -> Reply[Any]:
        return cls(
            ok=False,
            error=CommandError(
                code=code,
                message=message,
                field_errors=field_errors or [],
                retry_after=retry_after,
            ),
        )


class Refused(Exception):
    """A typed "no" from a handler or an aggregate: becomes `Reply.failure(...)`.

    Domain errors subclass it and name their `code` once; the message is for
    people and must never carry a secret.
    """

    code: ClassVar[str] = "conflict"
    # The message of a refusal that always says the same (raised without one).
    default_message: ClassVar[str] = ""
    # (field, what is wrong with it) of a refusal that is always about one field
    # (raised without field errors of its own).
    field_error: ClassVar[tuple[str, str] | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        field_errors: list[FieldError] | None = None,
        retry_after: int | None = None,
    ) -> None:
        message = self.default_message if message is None else message
        if field_errors is None and self.field_error is not None:
            field, problem = self.field_error
            field_errors = [FieldError(field=field, message=problem)]
        super().__init__(message)
        self.message = message
        self.error = CommandError(
            code=code or self.code,
            message=message,
            field_errors=field_errors or [],
            retry_after=retry_after,
        )


class BadCursor(Refused):
    """A page's `cursor` that is not a `next_cursor` this API gave out."""

    code = "validation_error"
    default_message = "Some fields are invalid."
    field_error = ("cursor", "not a cursor from this API")


class Empty(BaseModel):
    """Result of a command that has nothing to say beyond success."""


# One place that says what each error code means over HTTP.
ERROR_STATUS: dict[str, int] = {
    "validation_error": 422,
    "invalid_token": 400,
    "invalid_credentials": 401,
    "unauthenticated": 401,
    "token_expired": 401,
    "invalid_code": 401,  # a second factor's code (wrong, replayed)
    "invalid_challenge": 401,  # a sign-in's second step that expired: log in again
    "account_not_activated": 403,
    "registration_closed": 403,  # HELPDESK_REGISTRATION (closed, or not an allowed domain)
    "forbidden": 403,
    "not_found": 404,
    "username_taken": 409,
    "email_taken": 409,  # operator commands only; self-registration never reveals it
    "conflict": 409,
    "invalid_transition": 409,
    "ticket_closed": 409,
    "already_assigned": 409,
    "rate_limited": 429,
    "webhook_url_refused": 422,  # a private, loopback or link-local target (docs/api.md)
    # mail commands (tickets.mail.*): never reach HTTP, listed for completeness
    "unknown_sender": 403,
    "not_participant": 403,
    "internal": 500,
    "unavailable": 503,
}

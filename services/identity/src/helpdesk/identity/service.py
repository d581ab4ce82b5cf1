"""Wiring: each identity command and query served over NATS in the `identity` queue group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from helpdesk.contracts import identity as contract
from helpdesk.contracts.replies import FieldError, Reply
from helpdesk.identity.handlers import Identity
from helpdesk.identity.projections import PROJECTIONS
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.runtime import ServiceContext

log = get_logger(__name__)

CommandT = TypeVar("CommandT", bound=BaseModel)


def serve(
    subscriber: Callable[[Any], Any],
    command_type: type[CommandT],
    handler: Callable[[CommandT], Awaitable[Reply[Any]]],
) -> None:
    """Validate the body ourselves, so bad input is a typed `validation_error` reply
    and an unexpected failure a typed `unavailable` one, never a silent timeout."""

    async def handle(body: dict[str, Any]) -> Reply[Any]:
        try:
            command = command_type.model_validate(body)
        except ValidationError as exc:
            return Reply.failure(
                "validation_error",
                "Some fields are invalid.",
                field_errors=[
                    FieldError(
                        field=".".join(str(p) for p in err["loc"]) or "body", message=err["msg"]
                    )
                    for err in exc.errors()
                ],
            )
        try:
            return await handler(command)
        except Exception:
            log.exception("command failed", command=command_type.__name__)
            return Reply.failure("unavailable", "Please try again shortly.", retry_after=2)

    handle.__name__ = handle.__qualname__ = f"identity_{command_type.__name__}"
    handle.__doc__ = command_type.__doc__
    subscriber(handle)


def build(ctx: ServiceContext[Settings]) -> None:
    wire(ctx, Identity.from_settings(ctx.pool, ctx.settings))


def wire(ctx: ServiceContext[Settings], identity: Identity) -> None:
    ctx.projections.extend(PROJECTIONS)
    serve(ctx.command("register"), contract.RegisterUser, identity.register)
    serve(ctx.command("activate"), contract.ActivateAccount, identity.activate)
    serve(ctx.command("resend_activation"), contract.ResendActivation, identity.resend_activation)
    serve(ctx.command("login"), contract.Login, identity.login)
    serve(ctx.command("refresh"), contract.RefreshSession, identity.refresh)
    serve(ctx.command("logout"), contract.Logout, identity.logout)
    serve(
        ctx.command("request_password_reset"),
        contract.RequestPasswordReset,
        identity.request_password_reset,
    )
    serve(
        ctx.command("complete_password_reset"),
        contract.CompletePasswordReset,
        identity.complete_password_reset,
    )
    serve(
        ctx.command("request_username_reminder"),
        contract.RequestUsernameReminder,
        identity.request_username_reminder,
    )
    serve(ctx.command("create_user"), contract.CreateUser, identity.create_user)
    serve(ctx.command("grant_role"), contract.GrantRole, identity.grant_role)
    serve(ctx.query("me"), contract.GetProfile, identity.profile)

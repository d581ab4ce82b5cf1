"""The identity service's composition root: its adapters wired into its handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from helpdesk.contracts import identity as contract
from helpdesk.contracts.replies import Refused, Reply
from helpdesk.identity.handlers import Identity
from helpdesk.identity.projections import PROJECTIONS
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.runtime import Service, ServiceContext


def _unwrap(
    method: Callable[[Any], Awaitable[Reply[Any]]],
) -> Callable[[Any], Awaitable[BaseModel]]:
    # Transitional: the handlers still answer `Reply`; the kit wants result or `Refused`.
    async def handler(command: Any) -> BaseModel:
        reply = await method(command)
        if reply.error is not None:
            raise Refused(
                reply.error.message,
                code=reply.error.code,
                field_errors=reply.error.field_errors,
                retry_after=reply.error.retry_after,
            )
        assert reply.result is not None
        return reply.result  # type: ignore[no-any-return]

    return handler


def build(ctx: ServiceContext[Settings]) -> None:
    wire(ctx, Identity.from_settings(ctx.pool, ctx.settings))


def wire(ctx: ServiceContext[Settings], identity: Identity) -> None:
    ctx.projections.extend(PROJECTIONS)
    ctx.serve(
        {
            contract.RegisterUser: _unwrap(identity.register),
            contract.ActivateAccount: _unwrap(identity.activate),
            contract.ResendActivation: _unwrap(identity.resend_activation),
            contract.Login: _unwrap(identity.login),
            contract.RefreshSession: _unwrap(identity.refresh),
            contract.Logout: _unwrap(identity.logout),
            contract.RequestPasswordReset: _unwrap(identity.request_password_reset),
            contract.CompletePasswordReset: _unwrap(identity.complete_password_reset),
            contract.RequestUsernameReminder: _unwrap(identity.request_username_reminder),
            contract.CreateUser: _unwrap(identity.create_user),
            contract.GrantRole: _unwrap(identity.grant_role),
            contract.GetProfile: _unwrap(identity.profile),
        }
    )


SERVICE = Service(
    name=contract.SERVICE,
    settings=Settings,
    build=build,
    migrations="helpdesk.identity.migrations",
    publishes_events=True,
)

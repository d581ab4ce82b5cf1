"""Admins manage people: list users, set their roles, deactivate and reactivate
accounts (docs/assignment.md). The gateway's commands carry the caller as
`actor`, which the kit has proven against their token, so `actor.roles` is the
truth: anyone but an admin gets 403. The operator's twins (CLI) come on
`identity.admin.users.*`, which only the operator may publish.

Deactivation ends every session at once, as a password reset does (refresh
fails from then on), and puts each ended session on the revocation list the
gateway reads on every request, so the user's access tokens stop working on
the very next request to any route (`GET /api/v1/me` included);
`UserDeactivated` tells the tickets service, which stops accepting the user's
requests and gives their open tickets back to their queues.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from helpdesk.contracts import people as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import DomainError, UnknownUser
from helpdesk.identity.domain.user import User, UserEvent
from helpdesk.identity.handlers.deps import Deps, UseCases
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


class Forbidden(DomainError):
    code = "forbidden"


class SelfLockout(DomainError):
    """An admin may not deactivate themselves or drop their own admin role."""

    code = "conflict"


def _ensure_admin(actor: Actor) -> None:
    if Role.ADMIN not in actor.roles:
        raise Forbidden("only admins manage users")


def _result(user: User, sessions_ended: int = 0) -> contract.UserStatusChanged:
    return contract.UserStatusChanged(
        user_id=user.user_id,
        username=user.username,
        status=user.status,
        roles=user.roles,
        sessions_ended=sessions_ended,
    )


# What a change does to a loaded user: its events (none: nothing to save).
Decision = Callable[[User, datetime], list[UserEvent]]


async def changed_user(
    deps: Deps, user_id: UUID, decide: Decision, *, signs_out: bool = False
) -> tuple[User, int]:
    """Load the user, let `decide` choose the events, save; with `signs_out` every
    session ends too, and its access tokens are voided once the change has committed
    (deactivation, erasure). Returns the user as saved and the sessions ended."""
    ended: list[UUID] = []

    async def attempt() -> User:
        ended.clear()
        now = deps.clock.now()
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            if not user.exists:
                raise UnknownUser(str(user_id))
            events = decide(user, now)
            if events:
                await uow.users.save(user, events)
                if signs_out:
                    for session_id in await uow.sessions.active_of(user_id):
                        session = await uow.sessions.get(session_id)
                        await uow.sessions.save(session, session.revoke("deactivated", now))
                        ended.append(session_id)
                await uow.commit()
                log.info(
                    "user changed", user_id=str(user_id), events=[type(e).__name__ for e in events]
                )
        return user

    user = await retry_on_conflict(attempt)
    for session_id in ended:  # after the commit: a rolled-back attempt voids nothing
        await deps.revocations.revoke_session(session_id)
    return user, len(ended)


async def change(
    deps: Deps,
    user_id: UUID,
    decide: str,
    by: UUID | None,
    roles: list[Role] | None = None,
    *,
    reason: str | None = None,
) -> contract.UserStatusChanged:
    """Deactivate, reactivate or set the roles of a user (`by` the admin, None for
    the operator); `reason` says why when no admin decided (the directory sync)."""

    def decision(user: User, now: datetime) -> list[UserEvent]:
        if decide == "deactivate":
            return user.deactivate(by, now, reason)
        if decide == "reactivate":
            return user.reactivate(by, now, reason)
        return user.set_roles(roles or [], reason)

    user, ended = await changed_user(deps, user_id, decision, signs_out=decide == "deactivate")
    return _result(user, ended)


async def list_users(query: contract.ListUsers, deps: Deps) -> contract.UserList:
    _ensure_admin(query.actor)
    async with deps.uow() as uow:
        return contract.UserList(items=await uow.users.search(query.q, query.limit))


async def set_roles(cmd: contract.SetRoles, deps: Deps) -> contract.UserStatusChanged:
    _ensure_admin(cmd.actor)
    if cmd.user_id == cmd.actor.user_id and Role.ADMIN not in cmd.roles:
        raise SelfLockout("you cannot remove your own admin role")
    return await change(deps, cmd.user_id, "roles", cmd.actor.user_id, cmd.roles)


async def deactivate_user(cmd: contract.DeactivateUser, deps: Deps) -> contract.UserStatusChanged:
    _ensure_admin(cmd.actor)
    if cmd.user_id == cmd.actor.user_id:
        raise SelfLockout("you cannot deactivate yourself")
    return await change(deps, cmd.user_id, "deactivate", cmd.actor.user_id)


async def reactivate_user(cmd: contract.ReactivateUser, deps: Deps) -> contract.UserStatusChanged:
    _ensure_admin(cmd.actor)
    return await change(deps, cmd.user_id, "reactivate", cmd.actor.user_id)


async def user_id_of(deps: Deps, username: str) -> UUID:
    """The id of the account called `username` (the operator's commands name people so)."""
    async with deps.uow() as uow:
        user_id = await uow.users.id_by_username(policy.username_key(username))
    if user_id is None:
        raise UnknownUser(username)
    return user_id


async def operator_set_status(
    cmd: contract.OperatorSetStatus, deps: Deps
) -> contract.UserStatusChanged:
    user_id = await user_id_of(deps, cmd.username)
    return await change(deps, user_id, "reactivate" if cmd.active else "deactivate", None)


async def operator_set_roles(
    cmd: contract.OperatorSetRoles, deps: Deps
) -> contract.UserStatusChanged:
    user_id = await user_id_of(deps, cmd.username)
    return await change(deps, user_id, "roles", None, cmd.roles)


HANDLERS: UseCases = {
    contract.ListUsers: list_users,
    contract.SetRoles: set_roles,
    contract.DeactivateUser: deactivate_user,
    contract.ReactivateUser: reactivate_user,
    contract.OperatorSetStatus: operator_set_status,
    contract.OperatorSetRoles: operator_set_roles,
}

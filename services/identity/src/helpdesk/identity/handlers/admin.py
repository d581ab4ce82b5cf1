"""Operator commands behind the `helpdesk` CLI: create a user, grant a role."""

from __future__ import annotations

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Role
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import UnknownUser
from helpdesk.identity.handlers.deps import Deps, UseCases
from helpdesk.identity.handlers.registration import account_problems, open_account
from helpdesk.servicekit.handlers import invalid, retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


async def create_user(cmd: contract.CreateUser, deps: Deps) -> contract.UserCreated:
    """An account made by an operator (e.g. the first admin): active unless asked otherwise.

    Unlike self-registration, a taken e-mail address is said so (`email_taken`).
    """
    problems = account_problems(cmd.name, cmd.username, cmd.password, cmd.email)
    if problems:
        raise invalid(problems)
    roles = list(dict.fromkeys(cmd.roles or [Role.CUSTOMER]))
    password_hash = await deps.passwords.hash(cmd.password)
    user = await open_account(
        deps,
        cmd.name,
        cmd.username,
        cmd.email,
        cmd.locale,
        roles,
        password_hash,
        activated=cmd.activated,
    )
    return contract.UserCreated(user_id=user.user_id, username=user.username, roles=user.roles)


async def grant_role(cmd: contract.GrantRole, deps: Deps) -> contract.RolesGranted:
    async with deps.uow() as uow:
        user_id = await uow.users.id_by_username(policy.username_key(cmd.username))
    if user_id is None:
        raise UnknownUser(cmd.username)

    async def attempt() -> contract.RolesGranted:
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            events = user.grant_role(cmd.role)
            if events:
                await uow.users.save(user, events)
                await uow.commit()
                log.info("role granted", user_id=str(user_id), role=cmd.role.value)
        return contract.RolesGranted(user_id=user_id, username=user.username, roles=user.roles)

    return await retry_on_conflict(attempt)


HANDLERS: UseCases = {contract.CreateUser: create_user, contract.GrantRole: grant_role}

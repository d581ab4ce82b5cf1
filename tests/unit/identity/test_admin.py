"""Operator commands against fakes: creating users (the first admin) and granting roles."""

from __future__ import annotations

import inspect

import pytest

from helpdesk.contracts import export, factors, organisation, passkeys, people, privacy
from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Role
from helpdesk.contracts.messages import is_request_type
from helpdesk.contracts.replies import Refused
from helpdesk.identity.domain.errors import EmailTaken, UnknownUser, UsernameTaken
from helpdesk.identity.handlers import HANDLERS
from helpdesk.identity.handlers.admin import create_user, grant_role
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.sessions import login
from tests.tokens import unseal
from tests.unit.identity.conftest import NOW, World, active_user


def admin(**overrides: object) -> contract.CreateUser:
    values: dict[str, object] = {
        "name": "Admin",
        "username": "admin",
        "email": "admin@example.org",
        "password": "an admin passphrase",
        "roles": [Role.ADMIN],
        **overrides,
    }
    return contract.CreateUser.model_validate(values)


def test_every_identity_command_and_query_has_a_handler() -> None:
    requests = {
        value
        for module in (contract, people, factors, organisation, passkeys, export, privacy)
        for _, value in inspect.getmembers(module)
        if is_request_type(value) and value.service == contract.SERVICE
    }
    # The keystore's own request is served by the kit (keystore.serve_data_keys).
    assert set(HANDLERS) == requests - {privacy.GetDataKeys}


async def test_create_an_active_admin(deps: Deps, world: World) -> None:
    created = await create_user(admin(roles=[Role.ADMIN, Role.AGENT, Role.ADMIN]), deps)
    assert (created.username, created.roles) == ("admin", [Role.ADMIN, Role.AGENT])
    (registered,) = world.db.published(contract.UserRegistered)
    assert (registered.sealed_activation_token, registered.activation_expires_at) == (None, None)
    (activated,) = world.db.published(contract.UserActivated)
    assert (activated.user_id, activated.activated_at) == (created.user_id, NOW)
    assert world.tokens.issued == []
    await login(contract.Login(username="admin", password="an admin passphrase"), deps)


async def test_create_a_pending_user_mails_an_activation_link(deps: Deps, world: World) -> None:
    await create_user(admin(activated=False, roles=[]), deps)
    (registered,) = world.db.published(contract.UserRegistered)
    assert unseal(registered.sealed_activation_token) == world.tokens.issued[-1]
    assert registered.roles == [Role.CUSTOMER]
    assert world.db.published(contract.UserActivated) == []


async def test_taken_username_or_email_and_bad_fields_are_refused(deps: Deps) -> None:
    await create_user(admin(), deps)
    with pytest.raises(UsernameTaken):
        await create_user(admin(email="other@example.org"), deps)
    with pytest.raises(EmailTaken) as taken:
        await create_user(admin(username="someone", email="ADMIN@example.org"), deps)
    assert taken.value.error.code == "email_taken"
    assert taken.value.error.message == "An account already uses this e-mail."
    with pytest.raises(Refused) as invalid:
        await create_user(admin(username="x", password="short"), deps)
    assert invalid.value.error.code == "validation_error"


async def test_grant_a_role_once(deps: Deps, world: World) -> None:
    agent = await active_user(deps, world, 1)
    granted = await grant_role(contract.GrantRole(username="MARIA1", role=Role.AGENT), deps)
    assert (granted.username, granted.roles) == (agent.username, [Role.CUSTOMER, Role.AGENT])
    (changed,) = world.db.published(contract.RolesChanged)
    assert changed.roles == [Role.CUSTOMER, Role.AGENT]
    again = await grant_role(contract.GrantRole(username=agent.username, role=Role.AGENT), deps)
    assert again == granted
    assert len(world.db.published(contract.RolesChanged)) == 1
    world.db.conflicts = 1  # retried when the account moved meanwhile
    await grant_role(contract.GrantRole(username=agent.username, role=Role.ADMIN), deps)
    assert world.db.published(contract.RolesChanged)[-1].roles == [
        Role.CUSTOMER,
        Role.AGENT,
        Role.ADMIN,
    ]


async def test_granting_to_nobody_is_not_found(deps: Deps) -> None:
    with pytest.raises(UnknownUser) as missing:
        await grant_role(contract.GrantRole(username="nobody", role=Role.AGENT), deps)
    assert missing.value.error.code == "not_found"
    assert missing.value.error.message == "No user is called 'nobody'."

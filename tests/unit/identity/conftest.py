"""Identity's use cases wired to in-memory fakes and a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Actor
from helpdesk.identity.adapters.factors import SecondFactorSecrets
from helpdesk.identity.domain.errors import InvalidCredentials
from helpdesk.identity.handlers.activation import activate
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.registration import register
from helpdesk.identity.handlers.sessions import login
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.sealing import Sealer
from tests.tokens import seal_public_key, unseal
from tests.unit.identity.fakes import (
    FakeAccessTokens,
    FakeDatabase,
    FakeDirectory,
    FakeIdentityProvider,
    FakePasskeyCeremonies,
    FakePasswords,
    FakeRevocations,
    FakeTokens,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REGISTERED_PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """The fakes a use case ran against, for the test to look into."""

    db: FakeDatabase
    clock: ManualClock
    passwords: FakePasswords
    tokens: FakeTokens
    access_tokens: FakeAccessTokens
    revocations: FakeRevocations


def make_deps(
    world: World,
    *,
    directory: FakeDirectory | None = None,
    oidc: FakeIdentityProvider | None = None,
    **settings: Any,
) -> Deps:
    values: dict[str, Any] = {
        "jwt_private_key": "unused",
        "notifier_seal_public_key": seal_public_key(),
        "recovery_min_seconds": 0,
        # Tests of the password flows log agents and admins in on a password alone;
        # tests/unit/identity/test_factors.py sets the production default.
        "mfa_required_roles": "",
        **settings,
    }
    return Deps(
        uow=world.db.uow,
        passwords=world.passwords,
        tokens=world.tokens,
        access_tokens=world.access_tokens,
        clock=world.clock,
        settings=Settings(**values),
        revocations=world.revocations,
        seal=Sealer(seal_public_key()).seal,
        factors=SecondFactorSecrets("unit-test signing key"),
        directory=directory,
        oidc=oidc,
        passkeys=FakePasskeyCeremonies(),
    )


@pytest.fixture
def world() -> World:
    clock = ManualClock(NOW)
    return World(
        FakeDatabase(clock),
        clock,
        FakePasswords(),
        FakeTokens(),
        FakeAccessTokens(),
        FakeRevocations(),
    )


@pytest.fixture
def deps(world: World) -> Deps:
    return make_deps(world)


def registration(n: int | str = "", **overrides: Any) -> contract.RegisterUser:
    values: dict[str, Any] = {
        "name": "Μαρία Παπαδοπούλου",
        "username": f"maria{n}",
        "email": f"maria{n}@example.gr",
        "password": REGISTERED_PASSWORD,
        "client_address": "192.0.2.10",
        **overrides,
    }
    return contract.RegisterUser(**values)


def login_of(command: contract.RegisterUser, password: str | None = None) -> contract.Login:
    return contract.Login(
        username=command.username, password=password or command.password, client_address="192.0.2.1"
    )


async def wrong_logins(deps: Deps, attempts: Iterable[contract.Login]) -> None:
    """Each attempt is refused as wrong credentials: the failures the login limits count."""
    for attempt in attempts:
        with pytest.raises(InvalidCredentials):
            await login(attempt, deps)


def token_mailed_to(world: World, username: str) -> str:
    """The newest activation token published for `username` (what the mail links to)."""
    for event in reversed(world.db.stored.published):
        sealed = getattr(event, "sealed_activation_token", None)
        if getattr(event, "username", None) == username and sealed:
            return unseal(sealed)
    raise AssertionError(f"no activation token for {username}")


async def active_user(deps: Deps, world: World, n: int | str = "") -> contract.RegisterUser:
    command = registration(n)
    await register(command, deps)
    token = token_mailed_to(world, command.username)
    await activate(contract.ActivateAccount(token=token, password=command.password), deps)
    return command


async def signed_in(
    deps: Deps, world: World, n: int | str = ""
) -> tuple[contract.RegisterUser, contract.SessionTokens, Actor]:
    command = await active_user(deps, world, n)
    tokens = (await login(login_of(command), deps)).root
    assert isinstance(tokens, contract.SessionTokens)
    claims = world.access_tokens.claims(tokens.access_token)
    actor = Actor(user_id=claims.user_id, roles=claims.roles, session_id=str(claims.session_id))
    return command, tokens, actor

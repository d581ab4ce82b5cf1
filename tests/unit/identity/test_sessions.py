"""Login, refresh rotation, logout and the profile against fakes."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.identity.domain.errors import (
    InvalidCredentials,
    NotActivated,
    RateLimited,
    RefreshTokenReused,
    SessionEnded,
    Unauthenticated,
)
from helpdesk.identity.domain.session import SessionRevoked
from helpdesk.identity.domain.user import PasswordRehashed
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.registration import register
from helpdesk.identity.handlers.sessions import login, logout, profile, refresh
from tests.unit.identity.conftest import (
    NOW,
    World,
    active_user,
    login_of,
    make_deps,
    registration,
    signed_in,
    wrong_logins,
)


def refreshing(tokens: contract.SessionTokens) -> contract.RefreshSession:
    return contract.RefreshSession(refresh_token=tokens.refresh_token)


async def test_login_issues_an_access_and_a_refresh_token(deps: Deps, world: World) -> None:
    command = await active_user(deps, world, 1)
    tokens = (await login(login_of(command), deps)).root
    assert isinstance(tokens, contract.SessionTokens)
    assert (tokens.expires_in, tokens.refresh_expires_in) == (15 * 60, 14 * 24 * 3600)
    claims = world.access_tokens.claims(tokens.access_token)
    assert (claims.roles, claims.name, claims.locale, claims.now) == (
        [Role.CUSTOMER],
        command.name,
        "el",
        NOW,
    )
    # The username is matched ignoring case.
    await login(contract.Login(username="MARIA1", password=command.password), deps)


async def test_wrong_or_unknown_is_invalid_credentials(deps: Deps, world: World) -> None:
    command = await active_user(deps, world, 2)
    for attempt in (
        login_of(command, "wrong password!"),
        contract.Login(username="nobody", password="whatever12345"),
    ):
        with pytest.raises(InvalidCredentials) as refused:
            await login(attempt, deps)
        assert refused.value.error.code == "invalid_credentials"
        assert refused.value.error.message == "Wrong username or password."


async def test_not_activated_is_said_only_after_the_right_password(deps: Deps) -> None:
    command = registration(3)
    await register(command, deps)
    with pytest.raises(InvalidCredentials):
        await login(login_of(command, "wrong password!"), deps)
    with pytest.raises(NotActivated) as refused:
        await login(login_of(command), deps)
    assert refused.value.error.code == "account_not_activated"


async def test_failures_are_limited_per_account_until_the_window_passes(
    deps: Deps, world: World
) -> None:
    command = await active_user(deps, world, 4)
    await wrong_logins(deps, [login_of(command, "wrong password!")] * 5)
    world.clock.advance(timedelta(minutes=5))
    with pytest.raises(RateLimited) as limited:  # even the right password now
        await login(login_of(command), deps)
    assert limited.value.error.retry_after == 10 * 60
    world.clock.advance(timedelta(minutes=10))
    await login(login_of(command), deps)


async def test_a_successful_login_forgets_the_failures(deps: Deps, world: World) -> None:
    command = await active_user(deps, world, 5)
    for _ in range(2):
        await wrong_logins(deps, [login_of(command, "wrong password!")] * 4)
        await login(login_of(command), deps)


async def test_failures_are_limited_per_client_address(world: World) -> None:
    deps = make_deps(world, login_address_limit=3)
    command = await active_user(deps, world, 6)
    # A different (unknown) account each time, from one address.
    guesses = (
        contract.Login(username=f"guess{n}", password="x" * 12, client_address="198.51.100.7")
        for n in range(3)
    )
    await wrong_logins(deps, guesses)
    from_there = contract.Login(
        username=command.username, password=command.password, client_address="198.51.100.7"
    )
    with pytest.raises(RateLimited):
        await login(from_there, deps)
    await login(login_of(command), deps)  # another address is fine


async def test_an_outdated_hash_is_upgraded_once(deps: Deps, world: World) -> None:
    command = await active_user(deps, world, 7)
    world.passwords.scheme = "v2"
    await login(login_of(command), deps)
    await login(login_of(command), deps)
    (rehashed,) = [e for e in world.db.user_events() if isinstance(e, PasswordRehashed)]
    assert rehashed.password_hash == f"v2:{command.password}"


async def test_refresh_rotates_and_reuse_revokes_the_session(deps: Deps, world: World) -> None:
    _, first, _ = await signed_in(deps, world, 8)
    second = await refresh(refreshing(first), deps)
    assert second.refresh_token != first.refresh_token
    claims = world.access_tokens.claims(second.access_token)
    assert claims.name == "Μαρία Παπαδοπούλου"
    world.clock.advance(timedelta(seconds=deps.settings.refresh_grace_seconds + 1))
    with pytest.raises(RefreshTokenReused) as reused:
        await refresh(refreshing(first), deps)
    assert reused.value.error.code == "unauthenticated"
    # The thief's reuse ended the session for the legitimate holder too.
    with pytest.raises(SessionEnded):
        await refresh(refreshing(second), deps)
    revoked = [
        e for s in world.db.stored.sessions.values() for e in s if isinstance(e, SessionRevoked)
    ]
    assert [e.reason for e in revoked] == ["refresh_token_reuse"]


async def test_unknown_or_expired_refresh_tokens_are_refused(deps: Deps, world: World) -> None:
    with pytest.raises(Unauthenticated, match="not valid; log in again"):
        await refresh(contract.RefreshSession(refresh_token="nonsense"), deps)
    _, tokens, _ = await signed_in(deps, world, 9)
    world.clock.advance(timedelta(days=14, seconds=1))
    with pytest.raises(SessionEnded, match="expired"):
        await refresh(refreshing(tokens), deps)


async def test_logout_revokes_the_refresh_token(deps: Deps, world: World) -> None:
    _, tokens, actor = await signed_in(deps, world, 10)
    assert await logout(contract.Logout(actor=actor), deps) == contract.LoggedOut()
    with pytest.raises(SessionEnded):
        await refresh(refreshing(tokens), deps)


async def test_logout_leaves_other_peoples_sessions_alone(deps: Deps, world: World) -> None:
    _, tokens, actor = await signed_in(deps, world, 11)
    stranger = Actor(user_id=uuid4(), roles=[Role.CUSTOMER], session_id=actor.session_id)
    await logout(contract.Logout(actor=stranger), deps)
    await logout(contract.Logout(actor=actor.model_copy(update={"session_id": None})), deps)
    await refresh(refreshing(tokens), deps)  # still alive


async def test_profile_of_the_signed_in_user(deps: Deps, world: World) -> None:
    _, _, actor = await signed_in(deps, world, 12)
    me = await profile(contract.GetProfile(actor=actor), deps)
    assert (me.username, me.email, me.status, me.locale, me.roles, me.registered_at) == (
        "maria12",
        "maria12@example.gr",
        "active",
        "el",
        [Role.CUSTOMER],
        NOW,
    )
    ghost = Actor(user_id=uuid4(), roles=[Role.CUSTOMER])
    with pytest.raises(Unauthenticated, match="does not exist"):
        await profile(contract.GetProfile(actor=ghost), deps)

"""Issue 12's rules on identity's use cases, with fakes and a manual clock: the
login limits' arithmetic, sessions against password changes, refresh twins,
activation with the password, "this was not me", owner notices."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.contracts import identity as contract
from helpdesk.identity.domain.errors import (
    InvalidCredentials,
    InvalidToken,
    RateLimited,
    RefreshTokenReused,
    SessionEnded,
)
from helpdesk.identity.handlers.activation import activate, cancel_registration
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.recovery import complete_password_reset, request_password_reset
from helpdesk.identity.handlers.registration import register
from helpdesk.identity.handlers.sessions import login, logout, refresh
from tests.tokens import unseal
from tests.unit.identity.conftest import (
    REGISTERED_PASSWORD,
    World,
    active_user,
    registration,
    signed_in,
    token_mailed_to,
    wrong_logins,
)

WRONG = "not the password at all"


def attempt(username: str, address: str, password: str = WRONG) -> contract.Login:
    return contract.Login(username=username, password=password, client_address=address)


async def test_the_pair_is_blocked_not_the_account(deps: Deps, world: World) -> None:
    user = await active_user(deps, world, 1)
    await wrong_logins(deps, [attempt(user.username, "203.0.113.1")] * 5)
    with pytest.raises(RateLimited):  # even the right password, from that address
        await login(attempt(user.username, "203.0.113.1", user.password), deps)
    assert await login(attempt(user.username, "192.0.2.7", user.password), deps)


async def test_one_address_spraying_many_accounts_hits_its_ceiling(
    deps: Deps, world: World
) -> None:
    await wrong_logins(deps, (attempt(f"nobody{n}", "203.0.113.9") for n in range(20)))
    with pytest.raises(RateLimited):
        await login(attempt("nobody-else", "203.0.113.9"), deps)


async def test_the_account_slows_down_with_growing_delays_and_a_reset_lifts_them(
    deps: Deps, world: World
) -> None:
    user = await active_user(deps, world, 2)
    await wrong_logins(deps, (attempt(user.username, f"198.51.100.{n}") for n in range(10)))
    waits = []
    for n in range(4):
        with pytest.raises(RateLimited) as slowed:
            await login(attempt(user.username, f"192.0.2.{n}"), deps)
        waits.append(slowed.value.error.retry_after)
        world.clock.advance(timedelta(seconds=slowed.value.error.retry_after or 0))
        with pytest.raises(InvalidCredentials):
            await login(attempt(user.username, f"192.0.2.{n}"), deps)
    assert waits == [1, 2, 4, 8]
    with pytest.raises(RateLimited):
        await login(attempt(user.username, "192.0.2.99", user.password), deps)
    await request_password_reset(contract.RequestPasswordReset(email=user.email), deps)
    reset = unseal(world.db.published(contract.RecoveryRequested)[-1].sealed_reset_token)
    assert reset
    new = contract.CompletePasswordReset(token=reset, new_password="a brand new passphrase")
    await complete_password_reset(new, deps)
    assert await login(attempt(user.username, "192.0.2.99", new.new_password), deps)


async def test_the_longest_delay_is_capped(deps: Deps, world: World) -> None:
    user = await active_user(deps, world, 3)
    for n in range(30):
        world.clock.advance(timedelta(minutes=10))
        with pytest.raises(InvalidCredentials):
            await login(attempt(user.username, f"198.51.100.{n}"), deps)
    with pytest.raises(RateLimited) as slowed:
        await login(attempt(user.username, "192.0.2.1", user.password), deps)
    assert slowed.value.error.retry_after == deps.settings.login_max_delay_seconds


async def test_a_session_of_an_older_password_ends_at_refresh(deps: Deps, world: World) -> None:
    user, tokens, _ = await signed_in(deps, world, 4)
    # A login in flight during the reset: its session carries the old version, and the
    # reset's sweep of active sessions did not see it (simulated: started after it).
    await request_password_reset(contract.RequestPasswordReset(email=user.email), deps)
    reset = unseal(world.db.published(contract.RecoveryRequested)[-1].sealed_reset_token)
    assert reset
    await complete_password_reset(
        contract.CompletePasswordReset(token=reset, new_password="a brand new passphrase"), deps
    )
    with pytest.raises(SessionEnded):
        await refresh(contract.RefreshSession(refresh_token=tokens.refresh_token), deps)
    (user_id,) = world.revocations.users
    assert world.revocations.users[user_id] == 1


async def test_logout_writes_the_revocation_list(deps: Deps, world: World) -> None:
    _, _, actor = await signed_in(deps, world, 5)
    await logout(contract.Logout(actor=actor), deps)
    assert {str(s) for s in world.revocations.sessions} == {actor.session_id}


async def test_a_refresh_twin_gets_the_same_pair_only_within_the_grace(
    deps: Deps, world: World
) -> None:
    _, tokens, _ = await signed_in(deps, world, 6)
    body = contract.RefreshSession(refresh_token=tokens.refresh_token)
    one = await refresh(body, deps)
    world.clock.advance(timedelta(seconds=3))
    two = await refresh(body, deps)
    assert one.refresh_token == two.refresh_token
    # Minted from the same claims at the rotation's time (an identical JWT for real).
    claims = world.access_tokens.claims
    assert claims(one.access_token) == claims(two.access_token)
    newer = await refresh(contract.RefreshSession(refresh_token=one.refresh_token), deps)
    assert newer.refresh_token != one.refresh_token
    with pytest.raises(RefreshTokenReused):  # two rotations back: a stolen copy
        await refresh(body, deps)


async def test_activation_needs_the_registration_password(deps: Deps, world: World) -> None:
    await register(registration(7), deps)
    token = token_mailed_to(world, "maria7")
    with pytest.raises(InvalidCredentials):
        await activate(contract.ActivateAccount(token=token, password=WRONG), deps)
    assert world.db.published(contract.UserActivated) == []
    done = await activate(contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD), deps)
    assert done == contract.Activated()


async def test_this_was_not_me_cancels_and_frees_the_address(deps: Deps, world: World) -> None:
    await register(registration(8), deps)
    token = token_mailed_to(world, "maria8")
    await cancel_registration(contract.CancelRegistration(token=token), deps)
    assert len(world.db.published(contract.UserRegistrationCancelled)) == 1
    with pytest.raises(InvalidToken):
        await activate(contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD), deps)


async def test_the_owner_is_told_once_an_hour(deps: Deps, world: World) -> None:
    user = await active_user(deps, world, 9)
    for n in range(4):
        await register(registration(f"copy{n}", email=user.email), deps)
    assert len(world.db.published(contract.RegistrationAttemptedForExistingEmail)) == 1
    world.clock.advance(timedelta(hours=1, seconds=1))
    await register(registration("copy-later", email=user.email), deps)
    assert len(world.db.published(contract.RegistrationAttemptedForExistingEmail)) == 2

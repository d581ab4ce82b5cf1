"""Forgotten password and username against fakes: the same answer for every
address, single-use expiring reset links, every session ended by a reset."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts.replies import Refused
from helpdesk.identity.domain.errors import InvalidCredentials, InvalidToken, RateLimited
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.recovery import (
    complete_password_reset,
    request_password_reset,
    request_username_reminder,
)
from helpdesk.identity.handlers.registration import register
from helpdesk.identity.handlers.sessions import login, refresh
from tests.tokens import unseal
from tests.unit.identity.conftest import (
    World,
    active_user,
    login_of,
    make_deps,
    registration,
    signed_in,
)

NEW_PASSWORD = "a brand new passphrase"


def reset(token: str, password: str = NEW_PASSWORD) -> contract.CompletePasswordReset:
    return contract.CompletePasswordReset(token=token, new_password=password)


async def test_password_reset_mails_a_link_valid_for_an_hour(deps: Deps, world: World) -> None:
    await active_user(deps, world, 1)
    answer = await request_password_reset(
        contract.RequestPasswordReset(email="Maria1@Example.gr"), deps
    )
    assert answer == contract.Accepted(message=contract.RECOVERY_ACCEPTED_MESSAGE["el"])
    (event,) = world.db.published(contract.RecoveryRequested)
    assert (event.kind, event.email, event.locale) == ("password", "maria1@example.gr", "el")
    assert unseal(event.sealed_reset_token) == world.tokens.issued[-1]
    assert event.expires_at == world.clock.now() + timedelta(hours=1)


async def test_reset_changes_the_password_and_ends_every_token_and_session(
    deps: Deps, world: World
) -> None:
    command, session, _ = await signed_in(deps, world, 2)
    request = contract.RequestPasswordReset(email="maria2@example.gr")
    await request_password_reset(request, deps)
    await request_password_reset(request, deps)
    first, second = (
        unseal(e.sealed_reset_token) for e in world.db.published(contract.RecoveryRequested)
    )
    assert first
    assert second

    assert await complete_password_reset(reset(first), deps) == contract.PasswordReset()
    for token in (first, second):  # used, and every older one void
        with pytest.raises(InvalidToken):
            await complete_password_reset(reset(token, "another fine passphrase"), deps)
    with pytest.raises(Refused) as revoked:
        await refresh(contract.RefreshSession(refresh_token=session.refresh_token), deps)
    assert revoked.value.error.code == "unauthenticated"
    with pytest.raises(InvalidCredentials):
        await login(login_of(command), deps)
    await login(login_of(command, NEW_PASSWORD), deps)
    (changed,) = world.db.published(contract.PasswordChanged)
    assert (changed.email, changed.changed_at) == ("maria2@example.gr", world.clock.now())
    assert len(world.db.published(contract.UserActivated)) == 1  # the first activation only


async def test_a_weak_new_password_is_a_field_error(deps: Deps, world: World) -> None:
    await active_user(deps, world, 3)
    await request_password_reset(contract.RequestPasswordReset(email="maria3@example.gr"), deps)
    (event,) = world.db.published(contract.RecoveryRequested)
    assert unseal(event.sealed_reset_token)
    for weak in ("123", "maria3"):
        with pytest.raises(Refused) as refused:
            await complete_password_reset(reset(unseal(event.sealed_reset_token), weak), deps)
        assert refused.value.error.code == "validation_error"
        assert {e.field for e in refused.value.error.field_errors} == {"new_password"}
    await complete_password_reset(reset(unseal(event.sealed_reset_token)), deps)  # still usable


async def test_unknown_and_expired_reset_links_are_invalid(deps: Deps, world: World) -> None:
    with pytest.raises(InvalidToken, match="This password reset link is not valid"):
        await complete_password_reset(reset("made-up"), deps)
    await active_user(deps, world, 4)
    await request_password_reset(contract.RequestPasswordReset(email="maria4@example.gr"), deps)
    (event,) = world.db.published(contract.RecoveryRequested)
    assert unseal(event.sealed_reset_token)
    world.clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(InvalidToken, match="expired") as expired:
        await complete_password_reset(reset(unseal(event.sealed_reset_token)), deps)
    assert expired.value.error.code == "invalid_token"


async def test_resetting_a_pending_account_activates_it(deps: Deps, world: World) -> None:
    command = registration(5)
    await register(command, deps)
    await request_password_reset(contract.RequestPasswordReset(email="maria5@example.gr"), deps)
    (event,) = world.db.published(contract.RecoveryRequested)
    assert unseal(event.sealed_reset_token)
    await complete_password_reset(reset(unseal(event.sealed_reset_token)), deps)
    (activated,) = world.db.published(contract.UserActivated)
    assert activated.username == "maria5"
    kinds = [type(e).__name__ for e in world.db.stored.published]
    assert kinds[-2:] == ["PasswordChanged", "UserActivated"]
    await login(login_of(command, NEW_PASSWORD), deps)


async def test_the_reset_is_retried_when_the_account_moved(deps: Deps, world: World) -> None:
    await signed_in(deps, world, 6)
    await request_password_reset(contract.RequestPasswordReset(email="maria6@example.gr"), deps)
    (event,) = world.db.published(contract.RecoveryRequested)
    assert unseal(event.sealed_reset_token)
    world.db.conflicts = 1
    await complete_password_reset(reset(unseal(event.sealed_reset_token)), deps)
    assert len(world.db.published(contract.PasswordChanged)) == 1


async def test_username_reminder_mails_the_username(deps: Deps, world: World) -> None:
    await active_user(deps, world, 7)
    answer = await request_username_reminder(
        contract.RequestUsernameReminder(email="maria7@example.gr", locale="en"), deps
    )
    assert answer.message == contract.RECOVERY_ACCEPTED_MESSAGE["en"]
    (event,) = world.db.published(contract.RecoveryRequested)
    assert (event.kind, event.username, event.sealed_reset_token, event.expires_at) == (
        "username",
        "maria7",
        None,
        None,
    )


async def test_unknown_addresses_get_the_same_answer_and_nothing_is_sent(
    deps: Deps, world: World
) -> None:
    await active_user(deps, world, 8)
    before = list(world.db.stored.published)
    known = await request_password_reset(
        contract.RequestPasswordReset(email="ghost@example.gr"), deps
    )
    reminder = await request_username_reminder(
        contract.RequestUsernameReminder(email="ghost@example.gr"), deps
    )
    assert known == reminder == contract.Accepted(message=contract.RECOVERY_ACCEPTED_MESSAGE["el"])
    assert world.db.stored.published == before


async def test_recovery_takes_at_least_the_configured_time(world: World) -> None:
    deps = make_deps(world, recovery_min_seconds=0.05)
    started = time.monotonic()
    await request_username_reminder(
        contract.RequestUsernameReminder(email="ghost@example.gr"), deps
    )
    assert time.monotonic() - started >= 0.05


async def test_requests_are_limited_per_address_known_or_not(deps: Deps, world: World) -> None:
    await active_user(deps, world, 9)
    for email in ("maria9@example.gr", "ghost@example.gr"):
        password = contract.RequestPasswordReset(email=email)
        username = contract.RequestUsernameReminder(email=email)
        for _ in range(3):
            await request_password_reset(password, deps)
            await request_username_reminder(username, deps)
        with pytest.raises(RateLimited):
            await request_password_reset(password, deps)
        with pytest.raises(RateLimited):
            await request_username_reminder(username, deps)
    assert len(world.db.published(contract.RecoveryRequested)) == 6

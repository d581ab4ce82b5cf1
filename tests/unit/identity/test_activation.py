"""Activation with the mailed link, and mailing a new one, against fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts.replies import Refused
from helpdesk.identity.domain.errors import InvalidToken, RateLimited
from helpdesk.identity.handlers.activation import activate, resend_activation
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.registration import register
from tests.tokens import unseal
from tests.unit.identity.conftest import (
    NOW,
    REGISTERED_PASSWORD,
    World,
    active_user,
    registration,
    token_mailed_to,
)


async def test_activation_then_again_is_a_friendly_success(deps: Deps, world: World) -> None:
    await register(registration(1), deps)
    token = token_mailed_to(world, "maria1")
    first = await activate(
        contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD), deps
    )
    second = await activate(
        contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD), deps
    )
    assert first == contract.Activated(already_active=False)
    assert second == contract.Activated(already_active=True)
    (activated,) = world.db.published(contract.UserActivated)
    assert (activated.username, activated.activated_at) == ("maria1", NOW)


async def test_an_unknown_token_is_invalid(deps: Deps) -> None:
    with pytest.raises(InvalidToken) as refused:
        await activate(
            contract.ActivateAccount(token="made-up", password=REGISTERED_PASSWORD), deps
        )
    assert refused.value.error.code == "invalid_token"
    assert refused.value.error.message == "This activation link is not valid."


async def test_expired_token_offers_a_resend_and_the_new_link_works(
    deps: Deps, world: World
) -> None:
    await register(registration(2), deps)
    old = token_mailed_to(world, "maria2")
    world.clock.advance(timedelta(hours=48, seconds=1))
    with pytest.raises(InvalidToken) as expired:
        await activate(contract.ActivateAccount(token=old, password=REGISTERED_PASSWORD), deps)
    assert expired.value.error.code == "invalid_token"
    assert expired.value.error.message == (
        "this activation link has expired; ask for a new one"
        " (POST /api/v1/accounts/activation/resend sends a new link)"
    )
    answer = await resend_activation(contract.ResendActivation(email="maria2@example.gr"), deps)
    assert answer == contract.Accepted(message=contract.RECOVERY_ACCEPTED_MESSAGE["el"])
    (resent,) = world.db.published(contract.ActivationResent)
    assert unseal(resent.sealed_activation_token) != old
    assert resent.activation_expires_at == world.clock.now() + timedelta(hours=48)
    with pytest.raises(InvalidToken, match="not valid"):  # superseded
        await activate(contract.ActivateAccount(token=old, password=REGISTERED_PASSWORD), deps)
    assert await activate(
        contract.ActivateAccount(
            token=unseal(resent.sealed_activation_token), password=REGISTERED_PASSWORD
        ),
        deps,
    ) == (contract.Activated())


async def test_activation_is_retried_when_the_account_moved(deps: Deps, world: World) -> None:
    await register(registration(3), deps)
    world.db.conflicts = 1
    token = token_mailed_to(world, "maria3")
    assert (
        await activate(contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD), deps)
        == contract.Activated()
    )
    assert world.db.conflicts == 0
    assert len(world.db.published(contract.UserActivated)) == 1


async def test_activation_gives_up_with_a_conflict_when_the_account_keeps_moving(
    deps: Deps, world: World
) -> None:
    await register(registration(4), deps)
    world.db.conflicts = 5
    with pytest.raises(Refused) as refused:
        await activate(
            contract.ActivateAccount(
                token=token_mailed_to(world, "maria4"), password=REGISTERED_PASSWORD
            ),
            deps,
        )
    assert refused.value.error.code == "conflict"
    assert world.db.published(contract.UserActivated) == []


async def test_resend_reveals_nothing_and_does_nothing_for_active_or_unknown(
    deps: Deps, world: World
) -> None:
    await active_user(deps, world, 5)
    known = await resend_activation(contract.ResendActivation(email="maria5@example.gr"), deps)
    unknown = await resend_activation(contract.ResendActivation(email="ghost@example.gr"), deps)
    english = await resend_activation(
        contract.ResendActivation(email="ghost@example.gr", locale="en"), deps
    )
    assert known == unknown
    assert english.message == contract.RECOVERY_ACCEPTED_MESSAGE["en"]
    assert world.db.published(contract.ActivationResent) == []


async def test_resend_is_limited_per_address(deps: Deps) -> None:
    resend = contract.ResendActivation(email="ghost@example.gr")
    for _ in range(3):
        await resend_activation(resend, deps)
    with pytest.raises(RateLimited) as limited:
        await resend_activation(resend, deps)
    assert limited.value.error.retry_after == 60 * 60
    assert limited.value.error.message == "Too many attempts. Try again in 3600 seconds."

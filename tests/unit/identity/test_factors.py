"""Second factors of local accounts: enforcement by role, TOTP enrolment at sign-in
and from the account, the second step with a TOTP or a recovery code, replay and
rate limits (docs/sso.md)."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from helpdesk.contracts import factors
from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.identity.domain.errors import InvalidChallenge, InvalidCode, RateLimited
from helpdesk.identity.handlers.admin import create_user
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.factors import (
    complete_sign_in,
    confirm_totp_at_sign_in,
    confirm_totp_enrolment,
    enrol_totp_at_sign_in,
    get_factors,
    remove_factor,
    start_totp_enrolment,
)
from helpdesk.identity.handlers.sessions import login
from helpdesk.identity.settings import Settings
from tests.tokens import seal_public_key
from tests.unit.identity.conftest import World, make_deps, signed_in

PASSWORD = "an agent passphrase"


@pytest.fixture
def deps(world: World) -> Deps:
    return make_deps(world, mfa_required_roles="agent,admin")


async def agent(deps: Deps, n: int = 1) -> contract.Login:
    command = contract.CreateUser(
        name="Κώστας Agent",
        username=f"kostas{n}",
        email=f"kostas{n}@example.gr",
        password=PASSWORD,
        roles=[Role.AGENT],
    )
    await create_user(command, deps)
    return contract.Login(username=command.username, password=PASSWORD, client_address="192.0.2.1")


async def challenge(deps: Deps, command: contract.Login) -> contract.MfaChallenge:
    answer = (await login(command, deps)).root
    assert isinstance(answer, contract.MfaChallenge), "no second step"
    return answer


def code(world: World, secret: str, later: int = 0) -> str:
    return pyotp.TOTP(secret).at(world.clock.now() + timedelta(seconds=30 * later))


async def enrolled(deps: Deps, world: World, n: int = 1) -> tuple[contract.Login, str, list[str]]:
    """An agent who enrolled TOTP at their first sign-in: (login, seed, recovery codes)."""
    command = await agent(deps, n)
    first = await challenge(deps, command)
    enrolment = await enrol_totp_at_sign_in(
        factors.EnrolTotpAtSignIn(challenge_id=first.challenge_id), deps
    )
    done = await confirm_totp_at_sign_in(
        factors.ConfirmTotpAtSignIn(
            challenge_id=first.challenge_id,
            enrolment_token=enrolment.enrolment_token,
            code=code(world, enrolment.secret),
        ),
        deps,
    )
    assert done.tokens is not None
    world.clock.advance(timedelta(seconds=30))  # the enrolment code's step is used up
    return command, enrolment.secret, done.recovery_codes


async def test_an_agent_with_a_password_only_gets_an_enrolment_challenge_not_tokens(
    deps: Deps,
) -> None:
    first = await challenge(deps, await agent(deps))
    assert (first.status, first.methods) == ("mfa_enrolment_required", ["totp"])


async def test_set_but_empty_required_roles_force_nobody(world: World) -> None:
    deps = make_deps(world, mfa_required_roles="")
    answer = (await login(await agent(deps), deps)).root
    assert isinstance(answer, contract.SessionTokens)


async def test_enrolment_at_sign_in_gives_tokens_ten_codes_and_a_mail_event(
    deps: Deps, world: World
) -> None:
    _, secret, codes = await enrolled(deps, world)
    assert len(codes) == len(set(codes)) == 10
    (added,) = world.db.published(factors.SecondFactorAdded)
    assert (added.factor, added.username) == ("totp", "kostas1")
    stored = str(world.db.user_events())
    assert secret not in stored  # the seed is stored sealed
    assert not [c for c in codes if c in stored]  # the recovery codes only hashed


async def test_an_enrolled_account_signs_in_with_a_code_once(deps: Deps, world: World) -> None:
    command, secret, _ = await enrolled(deps, world)
    second = await challenge(deps, command)
    assert second.status == "mfa_required"
    now = code(world, secret)
    tokens = await complete_sign_in(
        factors.CompleteSignIn(challenge_id=second.challenge_id, code=now), deps
    )
    assert tokens.access_token
    with pytest.raises(InvalidCode):  # the same code (its time step) again: a replay
        await complete_sign_in(
            factors.CompleteSignIn(challenge_id=second.challenge_id, code=now), deps
        )


async def test_a_recovery_code_works_once(deps: Deps, world: World) -> None:
    command, _, codes = await enrolled(deps, world)
    second = await challenge(deps, command)
    answer = factors.CompleteSignIn(challenge_id=second.challenge_id, code=codes[3].upper())
    assert (await complete_sign_in(answer, deps)).access_token
    with pytest.raises(InvalidCode):
        await complete_sign_in(answer, deps)
    listed = await get_factors(factors.GetFactors(actor=the_agent(world)), deps)
    assert listed.recovery_codes_left == 9


async def test_wrong_codes_are_rate_limited_like_passwords(deps: Deps, world: World) -> None:
    command, secret, _ = await enrolled(deps, world)
    second = await challenge(deps, command)
    for _ in range(deps.settings.login_account_limit):
        with pytest.raises(InvalidCode):
            await complete_sign_in(
                factors.CompleteSignIn(challenge_id=second.challenge_id, code="000000"), deps
            )
    with pytest.raises(RateLimited):  # even the right code waits now
        await complete_sign_in(
            factors.CompleteSignIn(challenge_id=second.challenge_id, code=code(world, secret)),
            deps,
        )


async def test_challenges_are_for_one_purpose_and_expire(deps: Deps, world: World) -> None:
    first = await challenge(deps, await agent(deps))
    with pytest.raises(InvalidChallenge):  # an enrolment challenge does not verify
        await complete_sign_in(
            factors.CompleteSignIn(challenge_id=first.challenge_id, code="123456"), deps
        )
    forged = first.challenge_id[:-2] + ("AA" if not first.challenge_id.endswith("AA") else "BB")
    with pytest.raises(InvalidChallenge):
        await enrol_totp_at_sign_in(factors.EnrolTotpAtSignIn(challenge_id=forged), deps)
    world.clock.advance(timedelta(minutes=deps.settings.mfa_challenge_minutes, seconds=1))
    with pytest.raises(InvalidChallenge):
        await enrol_totp_at_sign_in(
            factors.EnrolTotpAtSignIn(challenge_id=first.challenge_id), deps
        )


async def test_a_customer_enrols_from_the_account_and_then_needs_the_code(
    deps: Deps, world: World
) -> None:
    user, _, actor = await signed_in(deps, world, 7)
    enrolment = await start_totp_enrolment(factors.StartTotpEnrolment(actor=actor), deps)
    with pytest.raises(InvalidCode):
        await confirm_totp_enrolment(
            factors.ConfirmTotpEnrolment(
                actor=actor, enrolment_token=enrolment.enrolment_token, code="999999"
            ),
            deps,
        )
    done = await confirm_totp_enrolment(
        factors.ConfirmTotpEnrolment(
            actor=actor,
            enrolment_token=enrolment.enrolment_token,
            code=code(world, enrolment.secret),
        ),
        deps,
    )
    assert (len(done.recovery_codes), done.tokens) == (10, None)
    again = contract.Login(username=user.username, password=user.password)
    assert (await challenge(deps, again)).status == "mfa_required"
    removed = await remove_factor(factors.RemoveFactor(actor=actor, factor="totp"), deps)
    assert (removed.items, removed.recovery_codes_left, removed.required) == ([], 0, False)
    assert world.db.published(factors.SecondFactorRemoved)
    assert isinstance((await login(again, deps)).root, contract.SessionTokens)


async def test_an_enrolment_token_is_good_for_its_own_account_only(
    deps: Deps, world: World
) -> None:
    _, _, actor = await signed_in(deps, world, 8)
    _, _, other = await signed_in(deps, world, 9)
    enrolment = await start_totp_enrolment(factors.StartTotpEnrolment(actor=actor), deps)
    with pytest.raises(InvalidCode):
        await confirm_totp_enrolment(
            factors.ConfirmTotpEnrolment(
                actor=other,
                enrolment_token=enrolment.enrolment_token,
                code=code(world, enrolment.secret),
            ),
            deps,
        )


def the_agent(world: World) -> Actor:
    (registered,) = world.db.published(contract.UserRegistered)
    return Actor(user_id=registered.user_id, roles=registered.roles)


def test_an_unknown_role_in_the_setting_stops_the_service() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        Settings(
            jwt_private_key="unused",
            notifier_seal_public_key=seal_public_key(),
            mfa_required_roles="agent,admins",
        )


def test_by_default_agents_and_admins_must_have_a_second_factor() -> None:
    # The production default (HELPDESK_MFA_REQUIRED_ROLES unset); NIS2's privileged access.
    settings = Settings(jwt_private_key="unused", notifier_seal_public_key=seal_public_key())
    assert settings.mfa_roles == {"agent", "admin"}

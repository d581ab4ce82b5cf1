"""Passkeys' use cases on the fakes (handlers/passkeys.py): added by their owner,
then a sign-in without a password or a second step; each ceremony good for its
own purpose and person; a counter that does not grow (a cloned authenticator, a
replayed assertion) refused; removal mails the owner."""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpdesk.contracts import factors, passkeys
from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Actor
from helpdesk.contracts.replies import Refused
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.factors import remove_factor
from helpdesk.identity.handlers.passkeys import (
    complete_sign_in,
    finish_registration,
    start_registration,
    start_sign_in,
)
from helpdesk.identity.handlers.sessions import login
from tests.unit.identity.conftest import World, login_of, signed_in


def credential(options: passkeys.PasskeyOptions, key: str, count: int) -> str:
    return json.dumps({"id": key, "challenge": options.options["challenge"], "count": count})


async def register(
    deps: Deps, actor: Actor, options: passkeys.PasskeyOptions, key: str
) -> factors.Factors:
    """`actor` answers the ceremony of `options` with a new passkey `key`."""
    answer = passkeys.FinishPasskeyRegistration(
        actor=actor, ceremony=options.ceremony, credential=credential(options, key, 1)
    )
    return await finish_registration(answer, deps)


async def with_passkey(deps: Deps, world: World, n: int | str) -> tuple[Any, Actor]:
    command, _, actor = await signed_in(deps, world, n)
    options = await start_registration(passkeys.StartPasskeyRegistration(actor=actor), deps)
    added = await register(deps, actor, options, f"key{n}")
    assert [f.factor for f in added.items] == ["passkey"]
    return command, actor


async def sign_in(deps: Deps, key: str, count: int, challenge_id: str | None = None) -> Any:
    options = await start_sign_in(passkeys.StartPasskeySignIn(challenge_id=challenge_id), deps)
    answer = passkeys.CompletePasskeySignIn(
        ceremony=options.ceremony,
        credential=credential(options, key, count),
        challenge_id=challenge_id,
        client_address="192.0.2.4",
    )
    return (await complete_sign_in(answer, deps)).root


async def test_a_passkey_signs_in_without_a_password(deps: Deps, world: World) -> None:
    _, actor = await with_passkey(deps, world, 1)
    tokens = await sign_in(deps, "key1", 2)
    assert isinstance(tokens, contract.SessionTokens)
    assert world.access_tokens.claims(tokens.access_token).user_id == actor.user_id
    added = world.db.published(factors.SecondFactorAdded)
    assert [e.factor for e in added] == ["passkey"]


async def test_a_counter_that_does_not_grow_is_refused(deps: Deps, world: World) -> None:
    await with_passkey(deps, world, 2)
    await sign_in(deps, "key2", 5)
    with pytest.raises(Refused) as refused:  # the same count again: a replay, or a clone
        await sign_in(deps, "key2", 5)
    assert refused.value.error.code == "invalid_code"


async def test_an_unknown_passkey_opens_nothing(deps: Deps, world: World) -> None:
    await with_passkey(deps, world, 3)
    with pytest.raises(Refused) as refused:
        await sign_in(deps, "a-key-never-added", 1)
    assert refused.value.error.code == "invalid_code"


async def test_a_registration_ceremony_is_its_owners_alone(deps: Deps, world: World) -> None:
    _, _, alice = await signed_in(deps, world, 4)
    _, _, bob = await signed_in(deps, world, 5)
    options = await start_registration(passkeys.StartPasskeyRegistration(actor=alice), deps)
    with pytest.raises(Refused) as refused:
        await register(deps, bob, options, "kb")
    assert refused.value.error.code == "invalid_challenge"


async def test_a_sign_in_ceremony_does_not_register(deps: Deps, world: World) -> None:
    _, _, actor = await signed_in(deps, world, 6)
    options = await start_sign_in(passkeys.StartPasskeySignIn(), deps)
    with pytest.raises(Refused) as refused:
        await register(deps, actor, options, "k6")
    assert refused.value.error.code == "invalid_challenge"


async def test_a_passkey_answers_the_second_step(deps: Deps, world: World) -> None:
    command, _ = await with_passkey(deps, world, 7)
    step = (await login(login_of(command), deps)).root
    assert isinstance(step, contract.MfaChallenge)
    assert step.methods == ["passkey"]
    tokens = await sign_in(deps, "key7", 2, challenge_id=step.challenge_id)
    assert isinstance(tokens, contract.SessionTokens)
    # Another account's passkey does not answer this account's step.
    await with_passkey(deps, world, 8)
    step = (await login(login_of(command), deps)).root
    with pytest.raises(Refused):
        await sign_in(deps, "key8", 2, challenge_id=step.challenge_id)


async def test_removing_passkeys_mails_the_owner(deps: Deps, world: World) -> None:
    _, actor = await with_passkey(deps, world, 9)
    left = await remove_factor(factors.RemoveFactor(actor=actor, factor="passkey"), deps)
    assert left.items == []
    (removed,) = world.db.published(factors.SecondFactorRemoved)
    assert removed.factor == "passkey"
    with pytest.raises(Refused):
        await sign_in(deps, "key9", 3)

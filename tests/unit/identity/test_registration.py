"""Self-registration against fakes: pending account, mailed token, taken
usernames, the same answer for a known address, the per-address limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Role
from helpdesk.contracts.replies import Refused
from helpdesk.identity.domain.errors import RateLimited, UsernameTaken
from helpdesk.identity.domain.user import Registered, RegistrationAttempted
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.registration import register
from tests.tokens import unseal
from tests.unit.identity.conftest import NOW, World, make_deps, registration


async def test_registration_is_pending_and_mails_an_activation_token(
    deps: Deps, world: World
) -> None:
    answer = await register(registration(1), deps)
    assert answer == contract.Registered(message=contract.REGISTERED_MESSAGE["el"])
    (event,) = world.db.published(contract.UserRegistered)
    assert (event.username, event.email, event.locale, event.roles) == (
        "maria1",
        "maria1@example.gr",
        "el",
        [Role.CUSTOMER],
    )
    assert unseal(event.sealed_activation_token) == world.tokens.issued[-1]
    assert event.activation_expires_at == NOW + timedelta(hours=48)
    assert event.registered_at == NOW
    # The store keeps the token's hash and the hasher's output, never the raw token.
    stored = " ".join(e.model_dump_json() for e in world.db.user_events())
    assert stored.count("token-1") == stored.count("hash(token-1)") == 1
    (registered, _) = world.db.user_events()
    assert isinstance(registered, Registered)
    assert registered.password_hash == "v1:correct horse battery staple"


async def test_english_registration_answers_in_english(deps: Deps) -> None:
    answer = await register(registration(2, locale="en"), deps)
    assert answer.message == contract.REGISTERED_MESSAGE["en"]


async def test_invalid_fields_are_field_errors(deps: Deps, world: World) -> None:
    with pytest.raises(Refused) as refused:
        await register(registration(3, username="a b", password="short"), deps)
    error = refused.value.error
    assert error.code == "validation_error"
    assert {e.field for e in error.field_errors} == {"username", "password"}
    assert all(e.message.startswith(e.field + " ") for e in error.field_errors)
    with pytest.raises(Refused, match="Some fields are invalid") as common:
        await register(registration(4, password="qwertyuiop123"), deps)
    assert "too common" in common.value.error.field_errors[0].message
    assert world.db.stored.published == []


async def test_username_taken_ignores_case_and_unicode_forms(deps: Deps, world: World) -> None:
    await register(registration(username="Σωκράτης"), deps)
    for variant in ("ΣΩΚΡΆΤΗΣ", "σωκράτης"):
        with pytest.raises(UsernameTaken) as taken:
            await register(registration(username=variant, email=f"{variant}@x.gr"), deps)
        assert taken.value.error.code == "username_taken"
        assert taken.value.error.message == "This username is taken; choose another."
        assert taken.value.error.field_errors[0].field == "username"
    assert len(world.db.published(contract.UserRegistered)) == 1


async def test_existing_email_gets_the_same_answer_and_its_owner_a_mail(
    deps: Deps, world: World
) -> None:
    first = await register(registration(5), deps)
    again = await register(registration("5b", email="MARIA5@example.gr"), deps)
    assert again == first
    (attempt,) = world.db.published(contract.RegistrationAttemptedForExistingEmail)
    assert (attempt.email, attempt.username, attempt.attempted_at) == (
        "maria5@example.gr",
        "maria5",
        NOW,
    )
    assert len(world.db.stored.users) == 1


async def test_telling_the_owner_is_retried_when_the_account_moved(
    deps: Deps, world: World
) -> None:
    await register(registration(6), deps)
    world.db.conflicts = 2
    await register(registration("6b", email="maria6@example.gr"), deps)
    assert sum(isinstance(e, RegistrationAttempted) for e in world.db.user_events()) == 1


async def test_registration_is_limited_per_client_address(world: World) -> None:
    deps = make_deps(world, registration_address_limit=2)
    for n in range(2):
        await register(registration(f"r{n}", client_address="203.0.113.9"), deps)
    with pytest.raises(RateLimited) as limited:
        await register(registration("r3", client_address="203.0.113.9"), deps)
    assert limited.value.error.code == "rate_limited"
    assert limited.value.error.retry_after == 60 * 60
    # Invalid attempts count too, and another address is not affected.
    await register(registration("r4", client_address="203.0.113.10"), deps)
    world.clock.advance(timedelta(hours=1, seconds=1))
    await register(registration("r5", client_address="203.0.113.9"), deps)
    assert len(world.db.published(contract.UserRegistered)) == 4


async def test_registration_without_an_address_is_not_limited(world: World) -> None:
    deps = make_deps(world, registration_address_limit=1)
    for n in range(3):
        await register(registration(f"n{n}", client_address=None), deps)
    assert world.db.stored.hits == {}

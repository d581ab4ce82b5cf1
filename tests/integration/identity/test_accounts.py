"""The identity handlers against a real PostgreSQL: registration, activation,
login, sessions, recovery, rate limits and roles (DESIGN.md §4 error table)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import asyncpg
import jwt
import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import AccessTokenClaims, Actor, Role
from helpdesk.contracts.replies import ERROR_STATUS, Reply
from helpdesk.identity.adapters.postgres import STORE
from helpdesk.identity.adapters.projections import PROJECTIONS
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.projections import rebuild
from tests.integration.identity.conftest import (
    PUBLIC_KEY,
    REGISTERED_PASSWORD,
    Identity,
    activation_token,
    identity_settings,
    published,
    registered_and_active,
    registration,
)
from tests.servers import Servers
from tests.tokens import unseal

pytestmark = pytest.mark.integration


def login(command: contract.RegisterUser, password: str | None = None) -> contract.Login:
    return contract.Login(
        username=command.username,
        password=password or command.password,
        client_address="192.0.2.1",
    )


def session_tokens(reply: Reply[contract.SignIn]) -> contract.SessionTokens | None:
    """The tokens a login answered (None: refused, or a second step is due)."""
    root = reply.result.root if reply.result is not None else None
    return root if isinstance(root, contract.SessionTokens) else None


async def signed_in(
    identity: Identity, n: int
) -> tuple[contract.RegisterUser, contract.SessionTokens]:
    """An active Μαρία `n` who has signed in: her registration and her tokens."""
    command = await registered_and_active(identity, n)
    tokens = session_tokens(await identity.ask(login(command)))
    assert tokens is not None
    return command, tokens


def code(reply: object) -> str | None:
    error = getattr(reply, "error", None)
    return None if error is None else error.code


# ---------------------------------------------------------------- registration


async def test_registration_is_pending_and_publishes_the_activation_token(
    identity: Identity,
) -> None:
    command = registration(1)
    reply = await identity.ask(command)
    assert reply.ok
    assert reply.result is not None
    assert reply.result.status == "pending_activation"
    assert reply.result.message.startswith("Ο λογαριασμός σας έχει δημιουργηθεί")
    (event,) = await published(identity.pool, "UserRegistered")
    data = contract.UserRegistered.model_validate(event.data)
    assert (data.username, data.email, data.locale, data.roles) == (
        "maria1",
        "maria1@example.gr",
        "el",
        [Role.CUSTOMER],
    )
    raw = unseal(data.sealed_activation_token)
    assert data.activation_expires_at is not None
    assert data.activation_expires_at - data.registered_at == timedelta(hours=48)
    # The raw token is nowhere in the event store, only its hash.
    stored = await identity.pool.fetchval("SELECT string_agg(data::text, ' ') FROM events")
    assert raw not in stored
    # ... nor in the outbox (its rows carry the sealed token only).
    outbox = await identity.pool.fetchval(
        "SELECT coalesce(string_agg(payload::text, ' '), '') FROM outbox"
    )
    assert raw not in outbox
    assert command.password not in stored


async def test_invalid_fields_are_field_errors(identity: Identity) -> None:
    reply = await identity.ask(registration(2, username="a b", password="short"))
    assert code(reply) == "validation_error"
    assert ERROR_STATUS["validation_error"] == 422
    assert reply.error is not None
    fields = {e.field for e in reply.error.field_errors}
    assert fields == {"username", "password"}
    common = await identity.ask(registration(3, password="qwertyuiop123"))
    assert common.error is not None
    assert "too common" in common.error.field_errors[0].message
    same = await identity.ask(registration(4, password="Maria4Maria4", username="maria4maria4"))
    assert code(same) == "validation_error"


async def test_username_taken_ignores_case_and_unicode_forms(identity: Identity) -> None:
    assert (await identity.ask(registration(username="Σωκράτης"))).ok
    for variant in ("ΣΩΚΡΆΤΗΣ", "σωκράτης"):
        reply = await identity.ask(registration(username=variant, email=f"{variant}@x.gr"))
        assert code(reply) == "username_taken", variant
    assert ERROR_STATUS["username_taken"] == 409


async def test_existing_email_gets_the_same_answer_and_its_owner_a_mail(
    identity: Identity,
) -> None:
    first = await identity.ask(registration(5))
    again = await identity.ask(registration("5b", email="MARIA5@example.gr"))
    assert again.model_dump() == first.model_dump()
    (attempt,) = await published(identity.pool, "RegistrationAttemptedForExistingEmail")
    assert attempt.data["email"] == "maria5@example.gr"
    assert attempt.data["username"] == "maria5"
    assert await identity.pool.fetchval("SELECT count(*) FROM users") == 1


async def test_concurrent_registrations_of_one_username_exactly_one_wins(
    identity: Identity,
) -> None:
    commands = [registration(f"race{i}", username="racer") for i in range(6)]
    replies = await asyncio.gather(*(identity.ask(c) for c in commands))
    assert sorted(code(r) or "ok" for r in replies) == ["ok"] + ["username_taken"] * 5
    assert await identity.pool.fetchval("SELECT count(*) FROM users") == 1
    assert len(await published(identity.pool, "UserRegistered")) == 1


async def test_concurrent_registrations_of_one_email_create_one_account(
    identity: Identity,
) -> None:
    commands = [registration(f"same{i}", email="same@example.gr") for i in range(6)]
    replies = await asyncio.gather(*(identity.ask(c) for c in commands))
    assert all(r.ok for r in replies)  # nobody learns the address is taken
    assert await identity.pool.fetchval("SELECT count(*) FROM users") == 1
    assert len(await published(identity.pool, "UserRegistered")) == 1
    # Five attempts on a taken address, one mail to its owner (at most one an hour).
    assert len(await published(identity.pool, "RegistrationAttemptedForExistingEmail")) == 1


# ---------------------------------------------------------------- activation


async def test_activation_then_again_is_a_friendly_success(identity: Identity) -> None:
    command = registration(6)
    await identity.ask(command)
    token = await activation_token(identity.pool, "maria6")
    first = await identity.ask(contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD))
    second = await identity.ask(contract.ActivateAccount(token=token, password=REGISTERED_PASSWORD))
    assert first.result == contract.Activated(already_active=False)
    assert second.result == contract.Activated(already_active=True)
    assert len(await published(identity.pool, "UserActivated")) == 1
    assert code(
        await identity.ask(contract.ActivateAccount(token="made-up", password=REGISTERED_PASSWORD))
    ) == ("invalid_token")


async def test_expired_activation_token_offers_a_resend(
    identity: Identity, clock: ManualClock
) -> None:
    await identity.ask(registration(7))
    old = await activation_token(identity.pool, "maria7")
    clock.advance(timedelta(hours=48, seconds=1))
    expired = await identity.ask(contract.ActivateAccount(token=old, password=REGISTERED_PASSWORD))
    assert code(expired) == "invalid_token"
    assert expired.error is not None
    assert "resend" in expired.error.message
    resent = await identity.ask(contract.ResendActivation(email="maria7@example.gr"))
    assert resent.ok
    new = await activation_token(identity.pool, "maria7")
    assert new != old
    assert (
        code(await identity.ask(contract.ActivateAccount(token=old, password=REGISTERED_PASSWORD)))
        == "invalid_token"
    )
    assert (
        await identity.ask(contract.ActivateAccount(token=new, password=REGISTERED_PASSWORD))
    ).ok


# ---------------------------------------------------------------- login and sessions


async def test_not_activated_is_403_only_after_the_right_password(identity: Identity) -> None:
    command = registration(8)
    await identity.ask(command)
    assert code(await identity.ask(login(command, "wrong password!"))) == "invalid_credentials"
    assert code(await identity.ask(login(command))) == "account_not_activated"
    assert (ERROR_STATUS["invalid_credentials"], ERROR_STATUS["account_not_activated"]) == (
        401,
        403,
    )
    unknown = contract.Login(username="nobody", password="whatever12345")
    assert code(await identity.ask(unknown)) == "invalid_credentials"


async def test_login_issues_an_eddsa_access_token_and_a_refresh_token(
    identity: Identity,
) -> None:
    command, tokens = await signed_in(identity, 9)
    assert tokens.expires_in == 15 * 60
    assert tokens.refresh_expires_in == 14 * 24 * 3600
    claims = AccessTokenClaims.model_validate(
        jwt.decode(
            tokens.access_token, PUBLIC_KEY, algorithms=["EdDSA"], issuer="helpdesk-identity"
        )
    )
    assert claims.roles == [Role.CUSTOMER]
    assert claims.name == command.name
    assert claims.exp - claims.iat == 900
    profile = await identity.ask(
        contract.GetProfile(
            actor=Actor(user_id=claims.sub, roles=claims.roles, session_id=claims.sid)
        )
    )
    assert profile.result is not None
    assert (profile.result.username, profile.result.status) == ("maria9", "active")
    # The username is matched ignoring case.
    assert (await identity.ask(contract.Login(username="MARIA9", password=command.password))).ok


async def test_refresh_rotates_and_reuse_revokes_the_session(
    identity: Identity, clock: ManualClock
) -> None:
    _, first = await signed_in(identity, 10)
    second = (await identity.ask(contract.RefreshSession(refresh_token=first.refresh_token))).result
    assert second is not None
    assert second.refresh_token != first.refresh_token
    clock.advance(timedelta(seconds=identity.settings.refresh_grace_seconds + 1))
    reused = await identity.ask(contract.RefreshSession(refresh_token=first.refresh_token))
    assert code(reused) == "unauthenticated"
    # The thief's reuse ended the session for the legitimate holder too.
    after = await identity.ask(contract.RefreshSession(refresh_token=second.refresh_token))
    assert code(after) == "unauthenticated"
    assert code(await identity.ask(contract.RefreshSession(refresh_token="nonsense"))) == (
        "unauthenticated"
    )


async def test_expired_refresh_token_is_refused(identity: Identity, clock: ManualClock) -> None:
    _, tokens = await signed_in(identity, 11)
    clock.advance(timedelta(days=14, seconds=1))
    reply = await identity.ask(contract.RefreshSession(refresh_token=tokens.refresh_token))
    assert code(reply) == "unauthenticated"


async def test_logout_revokes_the_refresh_token(identity: Identity) -> None:
    _, tokens = await signed_in(identity, 12)
    claims = jwt.decode(tokens.access_token, PUBLIC_KEY, algorithms=["EdDSA"])
    actor = Actor(user_id=claims["sub"], roles=claims["roles"], session_id=claims["sid"])
    assert (await identity.ask(contract.Logout(actor=actor))).ok
    reply = await identity.ask(contract.RefreshSession(refresh_token=tokens.refresh_token))
    assert code(reply) == "unauthenticated"


async def test_password_hash_is_upgraded_on_login_when_parameters_change(
    id_pool: asyncpg.Pool, servers: Servers, clock: ManualClock
) -> None:
    old = Identity.from_settings(id_pool, identity_settings(servers), clock=clock)
    command = await registered_and_active(old, 13)
    new = Identity.from_settings(
        id_pool, identity_settings(servers, argon2_time_cost=2), clock=clock
    )
    assert (await new.ask(login(command))).ok
    rehashed = await id_pool.fetch("SELECT data FROM events WHERE event_type = 'PasswordRehashed'")
    assert len(rehashed) == 1
    assert "t=2" in rehashed[0]["data"]["password_hash"]
    assert (await new.ask(login(command))).ok
    assert (
        await id_pool.fetchval("SELECT count(*) FROM events WHERE event_type = 'PasswordRehashed'")
        == 1
    )


# ---------------------------------------------------------------- recovery


async def test_password_reset_flow_revokes_tokens_and_sessions(
    identity: Identity, clock: ManualClock
) -> None:
    command, session = await signed_in(identity, 14)
    request = contract.RequestPasswordReset(email="Maria14@Example.gr")
    assert (await identity.ask(request)).ok
    assert (await identity.ask(request)).ok
    events = await published(identity.pool, "RecoveryRequested")
    first, second = (unseal(e.data["sealed_reset_token"]) for e in events)
    assert all(e.data["kind"] == "password" for e in events)
    delta = events[0].data["expires_at"]
    assert delta  # an hour from now (checked exactly in the expiry test)

    weak = await identity.ask(contract.CompletePasswordReset(token=first, new_password="123"))
    assert code(weak) == "validation_error"
    assert weak.error is not None
    assert weak.error.field_errors[0].field == "new_password"

    new_password = "a brand new passphrase"
    done = await identity.ask(
        contract.CompletePasswordReset(token=first, new_password=new_password)
    )
    assert done.ok
    for token in (first, second):  # used, and every older one revoked
        again = await identity.ask(
            contract.CompletePasswordReset(token=token, new_password="another fine passphrase")
        )
        assert code(again) == "invalid_token"
    revoked = await identity.ask(contract.RefreshSession(refresh_token=session.refresh_token))
    assert code(revoked) == "unauthenticated"
    assert code(await identity.ask(login(command))) == "invalid_credentials"
    assert (await identity.ask(login(command, new_password))).ok
    (changed,) = await published(identity.pool, "PasswordChanged")
    assert changed.data["email"] == "maria14@example.gr"


async def test_reset_token_expires_after_an_hour(identity: Identity, clock: ManualClock) -> None:
    await registered_and_active(identity, 15)
    await identity.ask(contract.RequestPasswordReset(email="maria15@example.gr"))
    (event,) = await published(identity.pool, "RecoveryRequested")
    clock.advance(timedelta(hours=1, seconds=1))
    reply = await identity.ask(
        contract.CompletePasswordReset(
            token=unseal(event.data["sealed_reset_token"]), new_password="a brand new passphrase"
        )
    )
    assert code(reply) == "invalid_token"
    assert ERROR_STATUS["invalid_token"] == 400


async def test_username_reminder_publishes_the_username(identity: Identity) -> None:
    await registered_and_active(identity, 16)
    reply = await identity.ask(contract.RequestUsernameReminder(email="maria16@example.gr"))
    assert reply.ok
    (event,) = await published(identity.pool, "RecoveryRequested")
    assert (event.data["kind"], event.data["username"], event.data["sealed_reset_token"]) == (
        "username",
        "maria16",
        None,
    )


async def test_recovery_answers_are_identical_and_take_as_long_for_unknown_addresses(
    identity: Identity,
) -> None:
    await registered_and_active(identity, 17)
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    bodies = set()
    for attempt in range(2):
        for kind, email in (("known", "maria17@example.gr"), ("unknown", f"x{attempt}@nope.gr")):
            for request in (
                identity.ask(contract.RequestPasswordReset(email=email)),
                identity.ask(contract.RequestUsernameReminder(email=email)),
            ):
                started = time.monotonic()
                reply = await request
                timings[kind].append(time.monotonic() - started)
                bodies.add(reply.model_dump_json())
    assert len(bodies) == 1
    floor = identity.settings.recovery_min_seconds
    assert min(timings["known"] + timings["unknown"]) >= floor
    known = sum(timings["known"]) / len(timings["known"])
    unknown = sum(timings["unknown"]) / len(timings["unknown"])
    assert abs(known - unknown) < 0.05, timings


# ---------------------------------------------------------------- rate limits


async def test_login_failures_are_limited_per_account_and_survive_a_restart(
    id_pool: asyncpg.Pool, servers: Servers, clock: ManualClock
) -> None:
    identity = Identity.from_settings(id_pool, identity_settings(servers), clock=clock)
    command = await registered_and_active(identity, 18)
    for _ in range(5):
        assert code(await identity.ask(login(command, "wrong password!"))) == (
            "invalid_credentials"
        )
    blocked = await identity.ask(login(command))  # even the right password now
    assert code(blocked) == "rate_limited"
    assert blocked.error is not None
    assert blocked.error.retry_after is not None
    assert 0 < blocked.error.retry_after <= 15 * 60
    assert ERROR_STATUS["rate_limited"] == 429
    restarted = Identity.from_settings(id_pool, identity_settings(servers), clock=clock)
    assert code(await restarted.ask(login(command))) == "rate_limited"


async def test_login_failures_are_limited_per_client_address(
    id_pool: asyncpg.Pool, servers: Servers, clock: ManualClock
) -> None:
    identity = Identity.from_settings(
        id_pool, identity_settings(servers, login_address_limit=3), clock=clock
    )
    command = await registered_and_active(identity, 19)
    for n in range(3):  # a different (unknown) account each time, from one address
        guess = contract.Login(
            username=f"guess{n}", password="x" * 12, client_address="198.51.100.7"
        )
        assert code(await identity.ask(guess)) == "invalid_credentials"
    from_there = contract.Login(
        username=command.username, password=command.password, client_address="198.51.100.7"
    )
    assert code(await identity.ask(from_there)) == "rate_limited"
    assert (await identity.ask(login(command))).ok  # another address is fine


async def test_recovery_and_resend_are_limited_per_email(identity: Identity) -> None:
    await registered_and_active(identity, 20)
    request = contract.RequestPasswordReset(email="maria20@example.gr")
    for _ in range(3):
        assert (await identity.ask(request)).ok
    limited = await identity.ask(request)
    assert code(limited) == "rate_limited"
    # The same for an unknown address: the limit reveals nothing either.
    unknown = contract.RequestUsernameReminder(email="ghost@example.gr")
    for _ in range(3):
        assert (await identity.ask(unknown)).ok
    assert code(await identity.ask(unknown)) == "rate_limited"
    resend = contract.ResendActivation(email="ghost@example.gr")
    for _ in range(3):
        assert (await identity.ask(resend)).ok
    assert code(await identity.ask(resend)) == "rate_limited"


async def test_registration_is_limited_per_client_address(
    id_pool: asyncpg.Pool, servers: Servers
) -> None:
    identity = Identity.from_settings(
        id_pool, identity_settings(servers, registration_address_limit=2)
    )
    for n in range(2):
        assert (await identity.ask(registration(f"r{n}", client_address="203.0.113.9"))).ok
    limited = await identity.ask(registration("r3", client_address="203.0.113.9"))
    assert code(limited) == "rate_limited"


# ---------------------------------------------------------------- operators


async def test_create_user_and_grant_role(identity: Identity) -> None:
    created = await identity.ask(
        contract.CreateUser(
            name="Admin",
            username="admin",
            email="admin@example.org",
            password="an admin passphrase",
            roles=[Role.ADMIN],
            activated=True,
        )
    )
    assert created.result is not None
    assert created.result.roles == [Role.ADMIN]
    assert (await identity.ask(contract.Login(username="admin", password="an admin passphrase"))).ok
    registered = await published(identity.pool, "UserRegistered")
    assert registered[0].data["sealed_activation_token"] is None
    assert len(await published(identity.pool, "UserActivated")) == 1

    agent = await registered_and_active(identity, 21)
    granted = await identity.ask(contract.GrantRole(username=agent.username, role=Role.AGENT))
    assert granted.result is not None
    assert granted.result.roles == [Role.CUSTOMER, Role.AGENT]
    (changed,) = await published(identity.pool, "RolesChanged")
    assert changed.data["roles"] == ["customer", "agent"]
    again = await identity.ask(contract.GrantRole(username=agent.username, role=Role.AGENT))
    assert again.ok
    assert len(await published(identity.pool, "RolesChanged")) == 1
    missing = await identity.ask(contract.GrantRole(username="nobody", role=Role.AGENT))
    assert code(missing) == "not_found"
    taken = await identity.ask(
        contract.CreateUser(
            name="X", username="someone", email="ADMIN@example.org", password="an admin passphrase"
        )
    )
    assert code(taken) == "email_taken"


async def test_projections_rebuilt_from_the_store_equal_the_live_ones(identity: Identity) -> None:
    await registered_and_active(identity, 22)
    await identity.ask(registration(23))
    await identity.ask(login(registration(22)))
    query = (
        "SELECT (SELECT json_agg(u ORDER BY username) FROM users u)::text,"
        " (SELECT json_agg(s ORDER BY session_id) FROM sessions s)::text,"
        " (SELECT count(*) FROM user_tokens), (SELECT count(*) FROM refresh_tokens)"
    )
    before = await identity.pool.fetchrow(query)
    for projection in PROJECTIONS:
        await rebuild(identity.pool, projection, store=STORE)  # identity's own events
    after = await identity.pool.fetchrow(query)
    assert tuple(before) == tuple(after)

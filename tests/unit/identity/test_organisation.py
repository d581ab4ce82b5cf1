"""Accounts from the organisation's directory, against the fakes (docs/sso.md):
the first sign-in makes the account, a local account is joined only with its
own password, the sync deactivates the departed and says why, and
HELPDESK_REGISTRATION closes the register form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from helpdesk.contracts import factors, organisation, people
from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Role
from helpdesk.contracts.replies import Refused
from helpdesk.identity.adapters.passwords import Argon2Passwords
from helpdesk.identity.domain.organisation import OrganisationPerson
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.factors import complete_sign_in
from helpdesk.identity.handlers.organisation import start_oidc_sign_in, sync_directory
from helpdesk.identity.handlers.recovery import request_password_reset
from helpdesk.identity.handlers.registration import register
from helpdesk.identity.handlers.sessions import complete_oidc_sign_in, link_account, login
from tests.unit.identity.conftest import World, active_user, make_deps, registration
from tests.unit.identity.fakes import FakeDirectory, FakeIdentityProvider

AGENTS = "cn=helpdesk-agents,ou=groups,dc=example,dc=gr"
ADMINS = "cn=helpdesk-admins,ou=groups,dc=example,dc=gr"


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


def org_deps(world: World, directory: FakeDirectory, **settings: Any) -> Deps:
    """Identity with the directory, its groups, and the production default for factors."""
    return make_deps(
        world,
        directory=directory,
        ldap_url="ldaps://ldap.example.gr",
        ldap_agent_groups=AGENTS,
        ldap_admin_groups=ADMINS,
        mfa_required_roles="agent,admin",
        **settings,
    )


@pytest.fixture
def org(world: World, directory: FakeDirectory) -> Deps:
    return org_deps(world, directory)


async def sign_in(deps: Deps, username: str, password: str) -> Any:
    credentials = contract.Login(username=username, password=password, client_address="192.0.2.7")
    return (await login(credentials, deps)).root


async def test_the_first_directory_sign_in_makes_an_active_account_with_the_mapped_role(
    org: Deps, world: World, directory: FakeDirectory
) -> None:
    directory.add("eleni", "eleni's ldap pass", name="Ελένη Παππά", groups=frozenset({AGENTS}))
    tokens = await sign_in(org, "eleni", "eleni's ldap pass")
    # An agent from the directory: no forced enrolment (the organisation guards it).
    assert isinstance(tokens, contract.SessionTokens)
    assert world.access_tokens.claims(tokens.access_token).roles == [Role.AGENT]
    (registered,) = world.db.published(contract.UserRegistered)
    assert (registered.source, registered.name, registered.locale) == ("ldap", "Ελένη Παππά", "el")
    assert registered.sealed_activation_token is None  # no activation mail
    assert world.db.published(contract.UserActivated)
    # The second time: the same account, nothing new.
    await sign_in(org, "eleni", "eleni's ldap pass")
    assert len(world.db.published(contract.UserRegistered)) == 1


async def test_the_first_directory_sign_in_speaks_the_pages_language(
    org: Deps, world: World, directory: FakeDirectory
) -> None:
    directory.add("maria.en", "her ldap pass")
    credentials = contract.Login(
        username="maria.en", password="her ldap pass", client_address="192.0.2.7", locale="en"
    )
    await login(credentials, org)
    (registered,) = world.db.published(contract.UserRegistered)
    assert registered.locale == "en"


async def test_a_wrong_directory_password_is_refused_and_counted(
    org: Deps, directory: FakeDirectory
) -> None:
    directory.add("nikos", "nikos ldap pass")
    for _ in range(5):
        with pytest.raises(Refused) as refused:
            await sign_in(org, "nikos", "wrong")
        assert refused.value.error.code == "invalid_credentials"
    with pytest.raises(Refused) as refused:
        await sign_in(org, "nikos", "nikos ldap pass")
    assert refused.value.error.code == "rate_limited"


async def test_an_unreachable_directory_is_a_refusal_never_a_sign_in(
    org: Deps, directory: FakeDirectory
) -> None:
    directory.add("nikos", "nikos ldap pass")
    directory.down = True
    with pytest.raises(Refused) as refused:
        await sign_in(org, "nikos", "nikos ldap pass")
    assert refused.value.error.code == "unavailable"


async def test_a_local_account_with_the_address_is_joined_only_with_its_own_password(
    org: Deps, world: World, directory: FakeDirectory
) -> None:
    local = await active_user(org, world, "-local")  # maria-local@example.gr
    directory.add("mpapa", "the directory pass", email=local.email, groups=frozenset({ADMINS}))
    answer = await sign_in(org, "mpapa", "the directory pass")
    # The directory's word is not enough: no tokens, a challenge for the local password.
    assert isinstance(answer, contract.MfaChallenge)
    assert (answer.status, answer.methods) == ("link_required", ["password"])
    assert world.access_tokens.issued == []
    with pytest.raises(Refused) as refused:
        await link_account(
            organisation.LinkAccount(challenge_id=answer.challenge_id, password="not it"), org
        )
    assert refused.value.error.code == "invalid_credentials"
    assert world.access_tokens.issued == []

    joined = await link_account(
        organisation.LinkAccount(challenge_id=answer.challenge_id, password=local.password), org
    )
    assert isinstance(joined.root, contract.SessionTokens)
    # From now on the directory's password goes straight in, with the directory's
    # roles (an admin from the directory: a local admin would have to enrol a factor);
    # one account, not two.
    again = await sign_in(org, "mpapa", "the directory pass")
    assert isinstance(again, contract.SessionTokens)
    assert world.access_tokens.claims(again.access_token).roles == [Role.ADMIN, Role.AGENT]
    (changed,) = world.db.published(contract.RolesChanged)
    assert changed.reason == "sign_in"
    assert len(world.db.published(contract.UserRegistered)) == 1


async def test_a_link_challenge_is_no_second_factor_challenge(
    org: Deps, world: World, directory: FakeDirectory
) -> None:
    local = await active_user(org, world, "-x")
    directory.add("mx", "the directory pass", email=local.email)
    answer = await sign_in(org, "mx", "the directory pass")
    with pytest.raises(Refused) as refused:
        await complete_sign_in(
            factors.CompleteSignIn(challenge_id=answer.challenge_id, code="123456"), org
        )
    assert refused.value.error.code == "invalid_challenge"


async def test_the_sync_deactivates_the_departed_and_updates_the_rest_saying_why(
    org: Deps, world: World, directory: FakeDirectory
) -> None:
    directory.add("eleni", "pass one", groups=frozenset({AGENTS}))
    directory.add("kostas", "pass two")
    eleni = await sign_in(org, "eleni", "pass one")
    await sign_in(org, "kostas", "pass two")

    directory.remove("eleni")
    directory.add(
        "kostas",
        "pass two",
        name="Κώστας Νέος",
        email="k.neos@example.gr",
        groups=frozenset({ADMINS}),
    )
    done = await sync_directory(organisation.SyncDirectory(), org)
    assert (done.people, done.accounts, done.deactivated, done.updated) == (1, 2, 1, 1)

    (gone,) = world.db.published(people.UserDeactivated)
    assert (gone.username, gone.reason, gone.by) == ("eleni", "removed_from_directory", None)
    # As an admin's deactivation: the session ended and its tokens are revoked.
    session = world.access_tokens.claims(eleni.access_token).session_id
    assert session in world.revocations.sessions
    (renamed,) = world.db.published(organisation.UserProfileChanged)
    assert (renamed.name, renamed.email, renamed.reason) == (
        "Κώστας Νέος",
        "k.neos@example.gr",
        "directory_sync",
    )
    (promoted,) = world.db.published(contract.RolesChanged)
    assert (promoted.roles, promoted.reason) == ([Role.ADMIN, Role.AGENT], "directory_sync")
    # Again: nothing more to do.
    again = await sync_directory(organisation.SyncDirectory(), org)
    assert (again.deactivated, again.updated) == (0, 0)

    directory.add("eleni", "pass one", groups=frozenset({AGENTS}))
    back = await sync_directory(organisation.SyncDirectory(), org)
    assert back.reactivated == 1
    (returned,) = world.db.published(people.UserReactivated)
    assert returned.reason == "back_in_directory"


async def test_a_directory_that_finds_nobody_deactivates_nobody(
    org: Deps, world: World, directory: FakeDirectory
) -> None:
    directory.add("eleni", "pass one")
    await sign_in(org, "eleni", "pass one")
    directory.remove("eleni")
    with pytest.raises(Refused) as refused:
        await sync_directory(organisation.SyncDirectory(), org)
    assert refused.value.error.code == "unavailable"
    assert world.db.published(people.UserDeactivated) == []


async def test_an_account_of_the_directory_gets_no_local_password_reset(
    org: Deps, world: World, directory: FakeDirectory
) -> None:
    directory.add("eleni", "pass one")
    await sign_in(org, "eleni", "pass one")
    await request_password_reset(
        contract.RequestPasswordReset(email="eleni@example.gr", client_address="192.0.2.9"), org
    )
    assert world.db.published(contract.RecoveryRequested) == []


async def test_an_account_without_a_local_password_opens_with_no_password() -> None:
    # The empty hash is not checked against the decoy (whose password would then open it).
    passwords = Argon2Passwords(time_cost=1, memory_kib=8, parallelism=1)
    assert not (await passwords.verify("", "decoy password for unknown usernames")).ok
    assert not (await passwords.verify("", "")).ok


async def test_registration_closed_and_by_domain(world: World) -> None:
    closed = make_deps(world, registration="closed")
    with pytest.raises(Refused) as refused:
        await register(registration(1), closed)
    assert refused.value.error.code == "registration_closed"

    domains = make_deps(world, registration="domains", registration_domains="uni.gr, @example.gr")
    await register(registration(2), domains)  # maria2@example.gr
    with pytest.raises(Refused) as refused:
        await register(registration(3, email="maria3@elsewhere.com"), domains)
    assert refused.value.error.code == "registration_closed"
    assert [e.username for e in world.db.published(contract.UserRegistered)] == ["maria2"]


@pytest.mark.parametrize(
    ("mode", "email", "made"),
    [
        ("closed", "eleni@example.gr", True),  # closed to the register form only
        ("domains", "eleni@uni.gr", True),
        ("domains", "eleni@example.gr", False),  # the organisation's accounts too
    ],
)
async def test_the_registration_mode_binds_the_organisations_new_accounts(
    world: World, directory: FakeDirectory, mode: str, email: str, made: bool
) -> None:
    deps = org_deps(world, directory, registration=mode, registration_domains="uni.gr")
    directory.add("eleni", "pass one", email=email)
    if made:
        assert isinstance(await sign_in(deps, "eleni", "pass one"), contract.SessionTokens)
    else:
        with pytest.raises(Refused) as refused:
            await sign_in(deps, "eleni", "pass one")
        assert refused.value.error.code == "registration_closed"
    assert len(world.db.published(contract.UserRegistered)) == int(made)


async def test_without_a_directory_an_unknown_username_is_just_wrong(deps: Deps) -> None:
    with pytest.raises(Refused) as refused:
        await sign_in(deps, "nobody", "whatever it is")
    assert refused.value.error.code == "invalid_credentials"


# ---------------------------------------------------------------- OpenID Connect


@pytest.fixture
def idp() -> FakeIdentityProvider:
    return FakeIdentityProvider()


@pytest.fixture
def oidc(world: World, idp: FakeIdentityProvider) -> Deps:
    return make_deps(
        world,
        oidc=idp,
        oidc_issuer="https://idp.example.gr",
        oidc_client_id="helpdesk",
        oidc_agent_groups="Helpdesk-Agents",
        mfa_required_roles="agent,admin",
    )


def person(sub: str, **overrides: Any) -> OrganisationPerson:
    values: dict[str, Any] = {
        "source": "oidc",
        "external_id": sub,
        "username": sub,
        "name": sub.title(),
        "email": f"{sub}@example.gr",
        "groups": frozenset(),
        "email_verified": True,
        **overrides,
    }
    return OrganisationPerson(**values)


async def oidc_flow(deps: Deps, idp: FakeIdentityProvider, who: OrganisationPerson) -> Any:
    started = await start_oidc_sign_in(
        organisation.StartOidcSignIn(redirect_uri="https://helpdesk.example.gr/cb"), deps
    )
    flow = idp.flows[-1]
    return started, flow, idp.code_for(flow, who)


def callback(started: Any, opened: Any, code: str, **overrides: Any) -> Any:
    values = {"flow": started.flow, "code": code, "state": opened.state, **overrides}
    return organisation.CompleteOidcSignIn(**values)


async def test_an_oidc_sign_in_makes_the_account_with_the_mapped_role(
    oidc: Deps, world: World, idp: FakeIdentityProvider
) -> None:
    ana = person("ana", groups=frozenset({"helpdesk-agents"}), locale="en")
    started, flow, code = await oidc_flow(oidc, idp, ana)
    assert started.authorization_url.startswith("https://idp.example.gr/auth")
    signed = (await complete_oidc_sign_in(callback(started, flow, code), oidc)).root
    assert isinstance(signed, contract.SessionTokens)
    assert world.access_tokens.claims(signed.access_token).roles == [Role.AGENT]
    (registered,) = world.db.published(contract.UserRegistered)
    assert (registered.source, registered.locale) == ("oidc", "en")


async def test_an_oidc_callback_completes_once(oidc: Deps, idp: FakeIdentityProvider) -> None:
    started, flow, code = await oidc_flow(oidc, idp, person("petros"))
    await complete_oidc_sign_in(callback(started, flow, code), oidc)
    with pytest.raises(Refused) as refused:
        await complete_oidc_sign_in(callback(started, flow, code), oidc)
    assert refused.value.error.code == "invalid_challenge"


async def test_an_oidc_callback_with_another_flows_state_is_refused(
    oidc: Deps, idp: FakeIdentityProvider
) -> None:
    started, flow, code = await oidc_flow(oidc, idp, person("petros"))
    with pytest.raises(Refused) as refused:
        await complete_oidc_sign_in(callback(started, flow, code, state="forged"), oidc)
    assert refused.value.error.code == "invalid_challenge"
    with pytest.raises(Refused) as refused:  # a flow not sealed by identity
        await complete_oidc_sign_in(callback(started, flow, code, flow="bm90LW91cnM"), oidc)
    assert refused.value.error.code == "invalid_challenge"


async def test_an_expired_oidc_flow_is_refused(
    oidc: Deps, world: World, idp: FakeIdentityProvider
) -> None:
    started, flow, code = await oidc_flow(oidc, idp, person("petros"))
    world.clock.advance(timedelta(minutes=11))
    with pytest.raises(Refused) as refused:
        await complete_oidc_sign_in(callback(started, flow, code), oidc)
    assert refused.value.error.code == "invalid_challenge"


async def test_an_unverified_address_never_takes_over_a_local_account(
    oidc: Deps, world: World, idp: FakeIdentityProvider
) -> None:
    local = await active_user(oidc, world, "-v")
    started, flow, code = await oidc_flow(
        oidc, idp, person("mallory", email=local.email, email_verified=False)
    )
    with pytest.raises(Refused) as refused:
        await complete_oidc_sign_in(callback(started, flow, code), oidc)
    assert refused.value.error.code == "forbidden"
    assert world.access_tokens.issued == []
    # Verified: still only the challenge for the local password.
    started, flow, code = await oidc_flow(oidc, idp, person("owner", email=local.email))
    answer = (await complete_oidc_sign_in(callback(started, flow, code), oidc)).root
    assert isinstance(answer, contract.MfaChallenge)
    assert answer.status == "link_required"
    assert world.access_tokens.issued == []


async def test_without_a_provider_there_is_no_oidc_sign_in(deps: Deps) -> None:
    with pytest.raises(Refused) as refused:
        await start_oidc_sign_in(
            organisation.StartOidcSignIn(redirect_uri="https://helpdesk.example.gr/cb"), deps
        )
    assert refused.value.error.code == "not_found"

"""A contract suite for identity's `Users` port where the organisation's accounts
need it (handlers/deps.py), run against the in-memory fake the use-case tests use
(tests/unit/identity/fakes.py) and the PostgreSQL adapter: lookups by the
organisation's lasting id, joined accounts, and addresses the directory changes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.identity.adapters.postgres import PostgresUnitOfWork
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import EmailTaken
from helpdesk.identity.domain.user import Source, User
from helpdesk.identity.handlers.deps import UnitOfWork
from helpdesk.servicekit.clock import ManualClock
from tests.integration.identity.conftest import identity_pool
from tests.servers import Servers
from tests.unit.identity.fakes import FakeDatabase

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@dataclass
class Backend:
    name: str
    uow: Callable[[], UnitOfWork]

    async def account(
        self,
        username: str,
        source: Source = "local",
        external_id: str | None = None,
        name: str | None = None,
    ) -> UUID:
        user_id = uuid4()
        events = User.register(
            user_id=user_id,
            name=name or username.title(),
            username=username,
            username_key=policy.username_key(username),
            email=f"{username}@example.gr",
            email_key=policy.email_key(f"{username}@example.gr"),
            locale="el",
            roles=[Role.CUSTOMER],
            password_hash="" if source != "local" else "v1:secret",
            now=NOW,
            activation=None,
            source=source,
            external_id=external_id,
        )
        async with self.uow() as uow:
            await uow.users.save(User(user_id=user_id), events)
            await uow.commit()
        return user_id


@pytest.fixture(params=["fake", "postgres"])
async def backend(request: pytest.FixtureRequest, servers: Servers) -> AsyncIterator[Backend]:
    if request.param == "fake":
        yield Backend("fake", FakeDatabase(ManualClock(NOW)).uow)
        return
    _, pool = await identity_pool(servers)
    yield Backend("postgres", lambda: PostgresUnitOfWork(pool))
    await pool.close()


async def test_an_account_of_the_organisation_is_found_by_its_lasting_id(
    backend: Backend,
) -> None:
    eleni = await backend.account("eleni", "ldap", "6f1c-eleni")
    await backend.account("nikos", "oidc", "sub-nikos")
    await backend.account("maria")
    async with backend.uow() as uow:
        assert await uow.users.id_by_external("ldap", "6f1c-eleni") == eleni
        assert await uow.users.id_by_external("oidc", "6f1c-eleni") is None
        assert await uow.users.id_by_external("ldap", "sub-nikos") is None
        assert await uow.users.of_source("ldap") == {"6f1c-eleni": eleni}
        assert (await uow.users.get(eleni)).source == "ldap"


async def test_a_joined_local_account_is_found_by_the_organisation_s_id(
    backend: Backend,
) -> None:
    maria = await backend.account("maria")
    async with backend.uow() as uow:
        user = await uow.users.get(maria)
        await uow.users.save(user, user.link("ldap", "uuid-maria", NOW))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.id_by_external("ldap", "uuid-maria") == maria
        assert await uow.users.of_source("ldap") == {"uuid-maria": maria}
        assert await uow.users.id_by_username(policy.username_key("maria")) == maria


async def test_an_address_the_directory_changes_moves_and_stays_unique(
    backend: Backend,
) -> None:
    eleni = await backend.account("eleni", "ldap", "uuid-eleni")
    await backend.account("nikos")
    new = "e.pappa@example.gr"
    async with backend.uow() as uow:
        user = await uow.users.get(eleni)
        await uow.users.save(
            user, user.sync_profile("Ελένη Παππά", new, policy.email_key(new), "sync", NOW)
        )
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.id_by_email(policy.email_key(new)) == eleni
        assert await uow.users.id_by_email(policy.email_key("eleni@example.gr")) is None
        user = await uow.users.get(eleni)
        assert (user.name, user.email) == ("Ελένη Παππά", new)
        taken = "nikos@example.gr"
        with pytest.raises(EmailTaken):
            await uow.users.save(
                user, user.sync_profile("Ελένη", taken, policy.email_key(taken), "sync", NOW)
            )


async def test_a_passkey_names_its_account_until_removed(backend: Backend) -> None:
    maria = await backend.account("maria")
    async with backend.uow() as uow:
        user = await uow.users.get(maria)
        await uow.users.save(user, user.add_passkey("cred-1", "cose-key", 0, NOW))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.id_by_passkey("cred-1") == maria
        assert await uow.users.id_by_passkey("cred-2") is None
        user = await uow.users.get(maria)
        assert list(user.passkeys) == ["cred-1"]
        await uow.users.save(user, user.remove_passkeys(NOW))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.users.id_by_passkey("cred-1") is None


async def test_people_are_found_by_a_prefix_without_case_or_accents(backend: Backend) -> None:
    maria = await backend.account("maria", name="Μαρία Παπαδοπούλου")
    await backend.account("nikos", name="Νίκος Δήμου")
    await backend.account("zoe", name="Zoé Martin")
    async with backend.uow() as uow:
        for typed in ("μαρια", "ΜΑΡΙΑ", "Μαρία", "mar", "MARIA@"):
            assert [u.user_id for u in await uow.users.search(typed, 10)] == [maria], typed
        assert [u.username for u in await uow.users.search("zoe", 10)] == ["zoe"]
        assert [u.username for u in await uow.users.search("ζ", 10)] == []
        assert len(await uow.users.search("", 2)) == 2  # everyone, by username, a page

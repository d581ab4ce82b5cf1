"""The LDAP adapter against a real Active Directory (Samba 4 as a domain
controller, LDAPS with the tests' own CA), with the Active Directory recipe of
docs/sso.md: sAMAccountName, objectGUID, nested groups, disabled accounts not
found. Root only (Samba binds port 636); skipped with the reason otherwise."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk.identity.adapters.directory import LdapDirectory
from tests.sso.directories import ldap_directory
from tests.sso.samba_ad import BASE, SambaAd, samba_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not samba_available(), reason="Samba AD needs root and Debian's samba (make samba)"
    ),
]

PEOPLE = [
    ("eleni", "Ελένη", "Παππά", "Eleni-AD-pass-1"),
    ("nikos", "Νίκος", "Αλεξίου", "Nikos-AD-pass-1"),
]
AGENTS = f"CN=helpdesk-agents,CN=Users,{BASE}"
# The Active Directory recipe of docs/sso.md.
AD_RECIPE = {
    "ldap_user_filter": (
        "(&(objectCategory=person)(objectClass=user)(sAMAccountName={username})"
        "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
    ),
    "ldap_username_attribute": "sAMAccountName",
    "ldap_name_attribute": "displayName",
    "ldap_email_attribute": "mail",
    "ldap_id_attribute": "objectGUID",
    "ldap_group_filter": "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={dn}))",
}


@pytest.fixture(scope="module")
def active_directory() -> Iterator[SambaAd]:
    ad = SambaAd.start(PEOPLE, {"helpdesk-agents": ["eleni"]})
    yield ad
    ad.stop()


def directory(ad: SambaAd, **overrides: Any) -> LdapDirectory:
    return ldap_directory({**ad.connection(), **AD_RECIPE}, **overrides)


async def test_an_ad_password_gives_the_person_with_groups_and_guid(
    active_directory: SambaAd,
) -> None:
    person = await directory(active_directory).authenticate("eleni", "Eleni-AD-pass-1")
    assert person is not None
    assert (person.username, person.email) == ("eleni", "eleni@helpdesk.test")
    assert person.groups == {AGENTS.lower()}
    assert uuid.UUID(person.external_id)  # objectGUID, read as a UUID


async def test_a_wrong_or_empty_ad_password_or_an_injection_is_refused(
    active_directory: SambaAd,
) -> None:
    ad = directory(active_directory)
    assert await ad.authenticate("eleni", "Nikos-AD-pass-1") is None
    assert await ad.authenticate("eleni", "") is None
    assert await ad.authenticate("*)(sAMAccountName=*", "Eleni-AD-pass-1") is None


async def test_a_disabled_ad_account_is_not_found_so_the_sync_deactivates_it(
    active_directory: SambaAd,
) -> None:
    ad = directory(active_directory)
    assert "nikos" in {p.username for p in await ad.everyone()}
    active_directory.tool("user", "disable", "nikos")
    assert await ad.authenticate("nikos", "Nikos-AD-pass-1") is None
    assert "nikos" not in {p.username for p in await ad.everyone()}

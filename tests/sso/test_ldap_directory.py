"""The LDAP adapter against a real OpenLDAP slapd with StartTLS from its own CA
(tests/sso/slapd.py): the password is checked by a bind, and every attack on it
is refused, each in its own test (issue 28, item 9)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk.identity.adapters.directory import LdapDirectory
from helpdesk.identity.domain.errors import DirectoryUnavailable
from tests.sso.directories import ldap_directory
from tests.sso.slapd import SUFFIX, Slapd, slapd_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not slapd_available(), reason="Debian slapd is not installed (make ldap)"),
]

PEOPLE = [
    {
        "uid": "eleni",
        "cn": "Ελένη Παππά",
        "mail": "eleni@example.gr",
        "password": "eleni ldap pass",
    },
    {
        "uid": "nikos",
        "cn": "Νίκος Αλεξίου",
        "mail": "nikos@example.gr",
        "password": "nikos ldap pass",
    },
]
AGENTS = f"cn=helpdesk-agents,ou=groups,{SUFFIX}"


@pytest.fixture(scope="module")
def slapd() -> Iterator[Slapd]:
    server = Slapd.start(PEOPLE, {"helpdesk-agents": ["eleni"]})
    yield server
    server.stop()


def directory(slapd: Slapd, **overrides: Any) -> LdapDirectory:
    return ldap_directory(slapd.connection(), **overrides)


async def test_the_right_password_gives_the_person_with_groups_and_lasting_id(
    slapd: Slapd,
) -> None:
    person = await directory(slapd).authenticate("eleni", "eleni ldap pass")
    assert person is not None
    assert (person.username, person.name, person.email) == (
        "eleni",
        "Ελένη Παππά",
        "eleni@example.gr",
    )
    assert person.groups == {AGENTS.lower()}
    assert len(person.external_id) == 36  # entryUUID


async def test_a_wrong_password_is_refused(slapd: Slapd) -> None:
    assert await directory(slapd).authenticate("eleni", "nikos ldap pass") is None


async def test_an_empty_password_is_refused_before_any_bind(slapd: Slapd) -> None:
    # A DN with no password is an unauthenticated bind that slapd "accepts".
    assert await directory(slapd).authenticate("eleni", "") is None


async def test_an_injection_filter_finds_nobody(slapd: Slapd) -> None:
    for username in ("*)(uid=*", "*", "eleni)(|(uid=*", "e*"):
        assert await directory(slapd).authenticate(username, "eleni ldap pass") is None


async def test_without_tls_nothing_is_sent(slapd: Slapd) -> None:
    # The server's certificate is checked: a CA that did not sign it is refused.
    untrusted = directory(slapd, ldap_ca_file="/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(DirectoryUnavailable):
        await untrusted.authenticate("eleni", "eleni ldap pass")


async def test_everyone_lists_the_people_for_the_sync(slapd: Slapd) -> None:
    people = await directory(slapd).everyone()
    assert sorted(p.username for p in people) == ["eleni", "nikos"]

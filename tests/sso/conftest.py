"""One running system for every sign-in test (issue 28), with the production
default for second factors (agents and admins must have one): the session-wide
`system` of the other tests runs with HELPDESK_MFA_REQUIRED_ROLES set and empty
(docs/sso.md, "Tests, and why they turn enforcement off").

Its identity signs in against the organisation's directory too: a real slapd
with StartTLS from its own CA (tests/sso/slapd.py), started once per session.
The periodic sync is off (HELPDESK_LDAP_SYNC_MINUTES=0): the tests run it as the
operator does, `helpdesk directory-sync`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.browser.conftest import browser, screenshots
from tests.e2e.harness import System, start_system
from tests.servers import Servers
from tests.sso.slapd import SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd, slapd_available

__all__ = ["browser", "screenshots"]

LDAP_PASSWORD = "the directory's passphrase"
AGENTS_GROUP = f"cn=helpdesk-agents,ou=groups,{SUFFIX}"
ADMINS_GROUP = f"cn=helpdesk-admins,ou=groups,{SUFFIX}"
# The directory's people: uid -> (name, address); every one's password is LDAP_PASSWORD.
PEOPLE = {
    "eleni": ("Ελένη Παππά", "eleni@example.gr"),  # agent
    "kostas": ("Κώστας Αγγέλου", "kostas@example.gr"),  # agent, leaves
    "sofia": ("Σοφία Δήμου", "sofia@example.gr"),  # admin
    "nikos": ("Νίκος Αλεξίου", "nikos@example.gr"),  # customer
    "maria.l": ("Μαρία Λάμπρου", "maria.local@example.gr"),  # has a local account here
}
GROUPS = {"helpdesk-agents": ["eleni", "kostas"], "helpdesk-admins": ["sofia"]}


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd | None]:
    """None without Debian's slapd: the system then runs without a directory."""
    if not slapd_available():
        yield None
        return
    people = [
        {"uid": uid, "cn": name, "mail": mail, "password": LDAP_PASSWORD}
        for uid, (name, mail) in PEOPLE.items()
    ]
    server = Slapd.start(people, GROUPS)
    yield server
    server.stop()


@pytest.fixture
def directory(slapd: Slapd | None) -> Slapd:
    if slapd is None:
        pytest.skip("Debian slapd is not installed (make ldap)")
    return slapd


def ldap_env(slapd: Slapd) -> dict[str, str]:
    return {
        "HELPDESK_LDAP_URL": slapd.url,
        "HELPDESK_LDAP_CA_FILE": str(slapd.ca_file),
        "HELPDESK_LDAP_BIND_DN": SERVICE_DN,
        "HELPDESK_LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "HELPDESK_LDAP_BASE_DN": f"ou=people,{SUFFIX}",
        "HELPDESK_LDAP_GROUP_BASE_DN": f"ou=groups,{SUFFIX}",
        "HELPDESK_LDAP_AGENT_GROUPS": AGENTS_GROUP,
        "HELPDESK_LDAP_ADMIN_GROUPS": ADMINS_GROUP,
        "HELPDESK_LDAP_SYNC_MINUTES": "0",
    }


@pytest.fixture(scope="session")
async def sso_system(
    tmp_path_factory: pytest.TempPathFactory, servers: Servers, slapd: Slapd | None
) -> AsyncIterator[System]:
    running = await start_system(
        tmp_path_factory.mktemp("sso-system"),
        servers,
        extra_env={
            "HELPDESK_MFA_REQUIRED_ROLES": "agent,admin",
            **(ldap_env(slapd) if slapd else {}),
        },
    )
    yield running
    await asyncio.to_thread(running.stop)

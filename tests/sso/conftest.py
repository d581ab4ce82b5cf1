"""One running system for every sign-in test (issue 28), with the production
default for second factors (agents and admins must have one): the session-wide
`system` of the other tests runs with HELPDESK_MFA_REQUIRED_ROLES set and empty
(docs/sso.md, "Tests, and why they turn enforcement off").

Its identity signs in against the organisation's directory too: a real slapd
with StartTLS from its own CA (tests/sso/slapd.py), started once per session.
The periodic sync is off (HELPDESK_LDAP_SYNC_MINUTES=0): the tests run it as the
operator does, `helpdesk directory-sync`. And against a real OpenID Connect
provider (npm oidc-provider, tests/sso/oidc.py): its port is chosen before the
system starts (the issuer is identity's setting), the provider itself after (the
gateway's callback is its client's redirect URI). The same for SAML: a real
SimpleSAMLphp IdP (tests/sso/simplesaml.py) whose port is chosen first, and a
twin of it (same issuer, same key) whose assertions are born expired."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from helpdesk.devstack.servers import free_port
from tests.browser.conftest import browser, screenshots
from tests.e2e.harness import System, start_system
from tests.servers import Servers
from tests.sso.oidc import CLIENT_ID, CLIENT_SECRET, OidcServer, node_available
from tests.sso.simplesaml import (
    SimpleSamlPhp,
    metadata_url,
    signing_pair,
    simplesamlphp_available,
)
from tests.sso.slapd import SUFFIX, Slapd, slapd_available

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
        **{f"HELPDESK_{name.upper()}": value for name, value in slapd.connection().items()},
        "HELPDESK_LDAP_AGENT_GROUPS": AGENTS_GROUP,
        "HELPDESK_LDAP_ADMIN_GROUPS": ADMINS_GROUP,
        "HELPDESK_LDAP_SYNC_MINUTES": "0",
    }


# The provider's people: sub -> claims (sign in at its dev login with the sub).
OIDC_ACCOUNTS = {
    "ana": {
        "name": "Άννα Οικονόμου",
        "preferred_username": "ana",
        "email": "ana@example.gr",
        "email_verified": True,
        "locale": "el",
        "groups": ["helpdesk-agents"],
    },
    "petros": {
        "name": "Petros Ioannou",
        "email": "petros@example.gr",
        "email_verified": True,
        "locale": "en",
        "groups": ["staff"],
    },
    # Claims an address a local account has, unverified: never that account.
    "intruder": {"name": "Intruder", "email": "victim@example.gr", "email_verified": False},
    # The same address, verified: still only with the local account's password.
    "victim-at-idp": {"name": "Victim", "email": "victim@example.gr", "email_verified": True},
}


@pytest.fixture(scope="session")
def oidc_port() -> int | None:
    """None without Node and npm: the system then runs without OpenID Connect."""
    return free_port() if node_available() else None


def oidc_env(port: int) -> dict[str, str]:
    return {
        "HELPDESK_OIDC_ISSUER": f"http://127.0.0.1:{port}",
        "HELPDESK_OIDC_CLIENT_ID": CLIENT_ID,
        "HELPDESK_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "HELPDESK_OIDC_ROLE_CLAIM": "groups",
        "HELPDESK_OIDC_AGENT_GROUPS": "helpdesk-agents",
        "HELPDESK_OIDC_ADMIN_GROUPS": "helpdesk-admins",
    }


# The IdP's people: "login:password" -> attributes (as a university's IdP sends them).
SAML_USERS = {
    "giorgos:giorgos saml pass": {
        "uid": ["giorgos"],
        "eduPersonPrincipalName": ["giorgos@uni.example.gr"],
        "mail": ["giorgos@uni.example.gr"],
        "displayName": ["Γιώργος Σαμαράς"],
        "eduPersonEntitlement": ["urn:mace:uni.example.gr:helpdesk:agent"],
    },
    "dimitra:dimitra saml pass": {
        "uid": ["dimitra"],
        "eduPersonPrincipalName": ["dimitra@uni.example.gr"],
        "mail": ["dimitra@uni.example.gr"],
        "displayName": ["Δήμητρα Κ."],
    },
}
SAML_AGENTS = "urn:mace:uni.example.gr:helpdesk:agent"


@pytest.fixture(scope="session")
def saml_ports() -> tuple[int, int] | None:
    """The IdP's port and its expired twin's; None without SimpleSAMLphp (then no SAML)."""
    return (free_port(), free_port()) if simplesamlphp_available() else None


@pytest.fixture(scope="session")
def saml_federation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the key that signs the IdP's metadata, as a federation signs its
    aggregate (`federation.pem`, `federation.crt`): identity trusts that certificate."""
    folder = tmp_path_factory.mktemp("saml-federation")
    signing_pair(folder, "federation", "helpdesk test federation")
    return folder


def saml_env(port: int, federation: Path) -> dict[str, str]:
    return {
        "HELPDESK_SAML_IDP_METADATA_URL": metadata_url(port),
        "HELPDESK_SAML_IDP_METADATA_CERT": str(federation / "federation.crt"),
        "HELPDESK_SAML_AGENT_GROUPS": SAML_AGENTS,
    }


@pytest.fixture(scope="session")
async def sso_system(
    tmp_path_factory: pytest.TempPathFactory,
    servers: Servers,
    slapd: Slapd | None,
    oidc_port: int | None,
    saml_ports: tuple[int, int] | None,
    saml_federation: Path,
) -> AsyncIterator[System]:
    # Passkeys need a domain for their relying party: the browser tests of passkeys
    # open the portal as http://localhost:<port> (a secure context), so that origin
    # is named before the system starts.
    port = free_port()
    running = await start_system(
        tmp_path_factory.mktemp("sso-system"),
        servers,
        gateway_port=port,
        extra_env={
            "HELPDESK_MFA_REQUIRED_ROLES": "agent,admin",
            "HELPDESK_WEBAUTHN_RP_ID": "localhost",
            "HELPDESK_WEBAUTHN_ORIGINS": f"http://localhost:{port}",
            **(ldap_env(slapd) if slapd else {}),
            **(oidc_env(oidc_port) if oidc_port else {}),
            **(saml_env(saml_ports[0], saml_federation) if saml_ports else {}),
        },
    )
    yield running
    await asyncio.to_thread(running.stop)


@pytest.fixture(scope="session")
async def oidc_provider(sso_system: System, oidc_port: int | None) -> AsyncIterator[OidcServer]:
    if oidc_port is None:
        pytest.skip("Node and npm are not installed: no OpenID Connect provider to test with")
    server = await asyncio.to_thread(
        OidcServer.start, oidc_port, f"{sso_system.url}/helpdesk/oidc/callback", OIDC_ACCOUNTS
    )
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture(scope="session")
async def saml_idp(
    sso_system: System, saml_ports: tuple[int, int] | None, saml_federation: Path
) -> AsyncIterator[tuple[SimpleSamlPhp, SimpleSamlPhp]]:
    """The IdP, and its twin whose assertions expired ten minutes before they are made."""
    if saml_ports is None:
        pytest.skip("Debian's simplesamlphp, php-cli and xmlsec1 are not installed (make saml)")
    sp = f"{sso_system.url}/helpdesk/saml/metadata"
    acs = f"{sso_system.url}/helpdesk/saml/acs"
    idp = await asyncio.to_thread(
        lambda: SimpleSamlPhp.start(
            saml_ports[0], sp, acs, SAML_USERS, metadata_signer=saml_federation
        )
    )
    twin = await asyncio.to_thread(
        lambda: SimpleSamlPhp.start(
            saml_ports[1],
            sp,
            acs,
            SAML_USERS,
            entity_id=idp.entity_id,
            keys_from=idp.folder,
            assertion_lifetime=-600,
        )
    )
    yield idp, twin
    await asyncio.to_thread(twin.stop)
    await asyncio.to_thread(idp.stop)

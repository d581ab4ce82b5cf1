"""Accounts from the organisation (LDAP / Active Directory, OpenID Connect, SAML):
who a person the organisation vouches for is here, and what they may do.

The rules (docs/sso.md, "Accounts from the organisation"), in order:
1. A person is known by their lasting id at the source (`source`, `external_id`),
   never by a name or an address they could be given.
2. The first sign-in makes the account: active at once (the organisation proved
   the person), without a local password or an activation mail.
3. A local account with the same e-mail address is joined only after its owner
   proves its local password once; an address the source has not verified never
   joins or makes an account that collides with one.
4. The source's groups give the roles, each time the person signs in or the
   directory is synced: admins' groups -> admin and agent, agents' -> agent,
   anyone else -> customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from helpdesk.contracts.actors import Role
from helpdesk.identity.domain.user import Source


@dataclass(frozen=True)
class OrganisationPerson:
    """Someone the organisation vouches for, as its directory or identity provider says."""

    source: Source
    external_id: str
    username: str
    name: str
    email: str
    groups: frozenset[str]  # lower-cased: group DNs (LDAP) or claim values (OIDC, SAML)
    email_verified: bool = True
    locale: str | None = None


def group_set(setting: Iterable[str]) -> frozenset[str]:
    """A setting's list of groups, compared without case."""
    return frozenset(g.lower() for g in setting)


def roles_for(groups: Iterable[str], agents: frozenset[str], admins: frozenset[str]) -> list[Role]:
    held = {g.lower() for g in groups}
    if held & admins:
        return [Role.ADMIN, Role.AGENT]
    if held & agents:
        return [Role.AGENT]
    return [Role.CUSTOMER]


def locale_of(*candidates: str | None) -> str:
    """The first of the claims' or the browser's languages that we speak; Greek else."""
    for candidate in candidates:
        for tag in (candidate or "").replace(";", ",").split(","):
            language = tag.strip().lower()[:2]
            if language in ("el", "en"):
                return language
    return "el"

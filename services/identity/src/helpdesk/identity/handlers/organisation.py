"""Accounts from the organisation: the account a person the organisation vouches
for signs into, joining a local account, and the directory sync
(domain/organisation.py has the rules; docs/sso.md).

Each change the organisation brings is an event with its reason: the profile
and roles a sign-in or a sync finds changed (`sign_in`, `directory_sync`), an
account deactivated because the directory no longer has the person
(`removed_from_directory`) and reactivated when it has them again
(`back_in_directory`). Deactivation goes through the admins' path
(`people.change`): sessions end, access tokens are revoked, and the tickets
service hands the person's open tickets back on `UserDeactivated`.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import asdict
from datetime import datetime, timedelta
from uuid import UUID

from helpdesk.contracts import identity as identity_contract
from helpdesk.contracts import organisation as contract
from helpdesk.contracts.actors import Role
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import (
    AlreadyLinked,
    DirectoryUnavailable,
    EmailTaken,
    NotConfigured,
    UnverifiedEmail,
    UsernameTaken,
)
from helpdesk.identity.domain.organisation import (
    OrganisationPerson,
    group_set,
    locale_of,
    roles_for,
)
from helpdesk.identity.domain.user import Source, User, UserEvent
from helpdesk.identity.handlers.deps import Challenge, Deps, OidcFlow, UseCases
from helpdesk.identity.handlers.people import change
from helpdesk.identity.handlers.registration import allowed, open_account
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

REMOVED = "removed_from_directory"
BACK = "back_in_directory"


def mapped_roles(deps: Deps, person: OrganisationPerson) -> list[Role] | None:
    """The roles the source's groups give, or None when no groups are configured
    for it (then admins set roles here, and the source leaves them alone)."""
    s = deps.settings
    if person.source == "ldap":
        agents, admins = group_set(s.ldap_agent_groups), group_set(s.ldap_admin_groups)
    elif person.source == "oidc":
        agents, admins = group_set(s.oidc_agent_groups), group_set(s.oidc_admin_groups)
    elif person.source == "saml":
        agents, admins = group_set(s.saml_agent_groups), group_set(s.saml_admin_groups)
    else:
        return None
    if not agents and not admins:
        return None
    return roles_for(person.groups, agents, admins)


async def account_for(
    deps: Deps, person: OrganisationPerson, browser_locale: str | None = None
) -> User | identity_contract.MfaChallenge:
    """The account `person` signs into, brought up to date with what the source
    says (rules 1-4); or, for a local account with their address, the challenge
    to prove its password first."""
    async with deps.uow() as uow:
        user_id = await uow.users.id_by_external(person.source, person.external_id)
        local_id = None if user_id else await uow.users.id_by_email(policy.email_key(person.email))
        local = await uow.users.get(local_id) if local_id else None
    if user_id is not None:
        user, _ = await _bring_up_to_date(deps, user_id, person, "sign_in")
        if user.status == "deactivated" and user.deactivation_reason == REMOVED:
            await change(deps, user_id, "reactivate", None, reason=BACK)  # back in it
            async with deps.uow() as uow:
                user = await uow.users.get(user_id)
        return user
    if local is not None:
        if not person.email_verified:
            log.warning("unverified address of an existing account", source=person.source)
            raise UnverifiedEmail("This e-mail address is already used by an account here.")
        if local.source != "local":
            raise AlreadyLinked("This e-mail address is already used by an account here.")
        return _link_challenge(deps, local, person)
    return await _new_account(deps, person, browser_locale)


def _link_challenge(
    deps: Deps, user: User, person: OrganisationPerson
) -> identity_contract.MfaChallenge:
    ttl = timedelta(minutes=deps.settings.mfa_challenge_minutes)
    challenge = Challenge(
        user_id=user.user_id,
        purpose="link",
        credentials_version=user.credentials_version,
        expires_at=deps.clock.now() + ttl,
        external=f"{person.source}:{person.external_id}",
    )
    log.info("local account to be joined", user_id=str(user.user_id), source=person.source)
    return identity_contract.MfaChallenge(
        status="link_required",
        challenge_id=deps.factors.challenge(challenge),
        methods=["password"],
        expires_in=int(ttl.total_seconds()),
    )


async def link(deps: Deps, user: User, external: str) -> User:
    """Join `user` (whose local password the caller has checked) to the source."""
    source, _, external_id = external.partition(":")
    assert source in ("ldap", "oidc", "saml")
    kind: Source = source  # type: ignore[assignment]

    async def attempt() -> User:
        async with deps.uow() as uow:
            fresh = await uow.users.get(user.user_id)
            events = fresh.link(kind, external_id, deps.clock.now())
            await uow.users.save(fresh, events)
            await uow.commit()
        return fresh

    linked = await retry_on_conflict(attempt)
    log.info("local account joined", user_id=str(user.user_id), source=source)
    return linked


async def _new_account(deps: Deps, person: OrganisationPerson, browser_locale: str | None) -> User:
    allowed(deps, person.email, local=False)
    roles = mapped_roles(deps, person) or [Role.CUSTOMER]
    locale = locale_of(person.locale, browser_locale)
    for username in _usernames(person):
        try:
            return await open_account(
                deps,
                person.name[:200] or username,
                username,
                person.email,
                "en" if locale == "en" else "el",
                roles,
                "",  # no local password: the organisation checks it
                activated=True,
                source=person.source,
                external_id=person.external_id,
            )
        except UsernameTaken:
            continue
    raise UsernameTaken()  # five taken in a row: an admin sorts it out


def _usernames(person: OrganisationPerson) -> list[str]:
    """The source's username, else the address's local part; then numbered."""
    bases = [person.username, person.email.partition("@")[0]]
    valid = [b for b in dict.fromkeys(bases) if not policy.username_problems(b)]
    if not valid:
        valid = ["user"]
    return valid + [f"{valid[0]}-{n}" for n in range(2, 6)]


async def _bring_up_to_date(
    deps: Deps, user_id: UUID, person: OrganisationPerson, reason: str
) -> tuple[User, bool]:
    """The account with the source's name, address and roles; whether any changed."""
    roles = mapped_roles(deps, person)

    async def attempt() -> tuple[User, bool]:
        now = deps.clock.now()
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            events: list[UserEvent] = [
                *user.sync_profile(
                    person.name[:200] or user.name,
                    person.email,
                    policy.email_key(person.email),
                    reason,
                    now,
                ),
                *(user.set_roles(roles, reason) if roles else []),
            ]
            if events:
                await uow.users.save(user, events)
                await uow.commit()
                log.info("account updated from the organisation", user_id=str(user_id))
        return user, bool(events)

    return await retry_on_conflict(attempt)


# ---------------------------------------------------------------- OpenID Connect


async def start_oidc_sign_in(
    cmd: contract.StartOidcSignIn, deps: Deps
) -> contract.OidcSignInStarted:
    """A fresh flow (state, nonce, PKCE verifier: each 256 random bits), sealed for
    the browser to hold, and the provider's authorization URL for it."""
    if deps.oidc is None:
        raise NotConfigured("Signing in with the organisation is not set up here.")
    ttl = timedelta(minutes=deps.settings.mfa_challenge_minutes)
    flow = OidcFlow(
        state=deps.tokens.new(),
        nonce=deps.tokens.new(),
        verifier=deps.tokens.new(),
        redirect_uri=cmd.redirect_uri,
        locale=cmd.locale,
        expires_at=deps.clock.now() + ttl,
    )
    url = await deps.oidc.authorization(flow)
    return contract.OidcSignInStarted(
        authorization_url=url, flow=seal_flow(deps, flow), expires_in=int(ttl.total_seconds())
    )


def seal_flow(deps: Deps, flow: OidcFlow) -> str:
    values = {**asdict(flow), "expires_at": flow.expires_at.isoformat()}
    return deps.factors.seal(json.dumps(values))


def open_flow(deps: Deps, sealed: str) -> OidcFlow | None:
    """The flow if `sealed` is identity's own and unexpired, else None."""
    opened = deps.factors.open(sealed)
    if opened is None:
        return None
    try:
        values = json.loads(opened)
        flow = OidcFlow(**{**values, "expires_at": datetime.fromisoformat(values["expires_at"])})
    except (ValueError, TypeError, KeyError):
        return None
    return flow if deps.clock.now() < flow.expires_at else None


# ---------------------------------------------------------------- SAML 2.0


async def start_saml_sign_in(
    cmd: contract.StartSamlSignIn, deps: Deps
) -> contract.SamlSignInStarted:
    """An AuthnRequest whose ID is ours (random, its expiry, MAC'd): the response
    must answer it, and no server state is kept for it."""
    if deps.saml is None:
        raise NotConfigured("Signing in with the organisation is not set up here.")
    expires = int(
        (deps.clock.now() + timedelta(minutes=deps.settings.mfa_challenge_minutes)).timestamp()
    )
    nonce = deps.tokens.new().replace("-", "").replace("_", "")[:32]
    request_id = f"id{nonce}-{expires}-{_mac(deps, nonce, expires)}"
    url = await deps.saml.redirect(request_id, relay_state=cmd.locale)
    return contract.SamlSignInStarted(redirect_url=url)


def saml_request_is_ours(deps: Deps, request_id: str | None) -> bool:
    """Whether `request_id` is an unexpired AuthnRequest ID of ours."""
    try:
        head, expires_text, mac = (request_id or "").split("-")
        expires = int(expires_text)
    except ValueError:
        return False
    genuine = hmac.compare_digest(mac, _mac(deps, head.removeprefix("id"), expires))
    return genuine and deps.clock.now().timestamp() < expires


def _mac(deps: Deps, nonce: str, expires: int) -> str:
    return (
        deps.tokens.hash(f"saml-request:{nonce}:{expires}")[:32].replace("-", "").replace("_", "")
    )


async def saml_metadata(query: contract.GetSamlMetadata, deps: Deps) -> contract.SamlMetadata:
    if deps.saml is None:
        raise NotConfigured("SAML is not set up here.")
    return contract.SamlMetadata(xml=await deps.saml.metadata())


# ---------------------------------------------------------------- the directory sync


async def sync_directory(cmd: contract.SyncDirectory, deps: Deps) -> contract.DirectorySynced:
    """Make the directory's accounts here say what the directory says.

    A directory that answers with nobody while accounts here come from it is
    taken for a misconfiguration (a wrong base DN or filter), not for everyone
    having left: nothing is deactivated then.
    """
    if deps.directory is None:
        raise DirectoryUnavailable("No directory is configured (HELPDESK_LDAP_URL).")
    people = {p.external_id: p for p in await deps.directory.everyone()}
    async with deps.uow() as uow:
        accounts = await uow.users.of_source("ldap")
    if not people and accounts:
        log.warning("the directory found nobody; nothing deactivated", accounts=len(accounts))
        raise DirectoryUnavailable("The directory found nobody; check its base DN and filter.")
    deactivated = reactivated = updated = 0
    for external_id, user_id in accounts.items():
        person = people.get(external_id)
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
        try:
            if person is None:
                if user.status != "deactivated":
                    await change(deps, user_id, "deactivate", None, reason=REMOVED)
                    deactivated += 1
                continue
            if user.status == "deactivated" and user.deactivation_reason == REMOVED:
                await change(deps, user_id, "reactivate", None, reason=BACK)
                reactivated += 1
            _, changed = await _bring_up_to_date(deps, user_id, person, "directory_sync")
            updated += changed
        except EmailTaken:  # the directory gave them another account's address
            log.warning("directory sync: address held by another account", user_id=str(user_id))
    result = contract.DirectorySynced(
        people=len(people),
        accounts=len(accounts),
        deactivated=deactivated,
        reactivated=reactivated,
        updated=updated,
    )
    log.info("directory synced", **result.model_dump())
    return result


HANDLERS: UseCases = {
    contract.SyncDirectory: sync_directory,
    contract.StartOidcSignIn: start_oidc_sign_in,
    contract.StartSamlSignIn: start_saml_sign_in,
    contract.GetSamlMetadata: saml_metadata,
}

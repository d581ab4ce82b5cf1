"""Logging in, refreshing and ending a session; the signed-in user's profile.

A username and password are checked against the local account first; when that
fails and an LDAP / Active Directory is configured, against the directory
(handlers/organisation.py makes or finds the account it vouches for; an
account from the directory has no local password at all).

A refresh token is rotated on every use; presenting an already rotated one
(a stolen copy) revokes the session for the thief and the owner alike.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid4

from helpdesk.contracts import identity as contract
from helpdesk.contracts import organisation as org_contract
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import (
    InvalidChallenge,
    InvalidCredentials,
    NotActivated,
    OrganisationRefused,
    RateLimited,
    RefreshTokenReused,
    SessionEnded,
    Unauthenticated,
)
from helpdesk.identity.domain.session import Session
from helpdesk.identity.domain.user import User
from helpdesk.identity.handlers import organisation
from helpdesk.identity.handlers.deps import AccessGrant, Challenge, Deps, UnitOfWork, UseCases
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


async def login(cmd: contract.Login, deps: Deps) -> contract.SignIn:
    username_key = policy.username_key(cmd.username)
    address = cmd.client_address or "unknown"
    await _count_attempt(deps, username_key, address)
    async with deps.uow() as uow:
        user_id = await uow.users.id_by_username(username_key)
        user = None if user_id is None else await uow.users.get(user_id)
    # An unknown username is checked against a decoy hash: same cost, same answer.
    checked = await deps.passwords.verify(user.password_hash if user else None, cmd.password)
    if user is None or not checked.ok:
        person = None
        if deps.directory is not None:
            person = await deps.directory.authenticate(cmd.username, cmd.password)
        if person is None:
            log.info("login failed", user_id=str(user_id) if user_id else None)
            raise InvalidCredentials()  # already counted by `_count_attempt`
        await _forgive(deps, username_key, address)
        found = await organisation.account_for(deps, person, cmd.locale)
        if isinstance(found, contract.MfaChallenge):
            return contract.SignIn(found)
        return await finish_sign_in(deps, found)
    await _forgive(deps, username_key, address)
    if checked.needs_rehash:
        await _rehash(deps, user, cmd.password)
    return await finish_sign_in(deps, user)


async def finish_sign_in(deps: Deps, user: User) -> contract.SignIn:
    """Whoever it is has been proven: a session, or first the second step."""
    if not user.is_active:
        raise NotActivated()
    if user.needs_second_factor(deps.settings.mfa_roles):
        return contract.SignIn(second_step(deps, user))
    return contract.SignIn(await start_session(deps, user))


async def link_account(cmd: org_contract.LinkAccount, deps: Deps) -> contract.SignIn:
    """The owner of a local account proves its password once, and the organisation's
    identity the challenge carries is joined to it (docs/sso.md). Counted and
    limited as a login of that account."""
    challenge = deps.factors.open_challenge(cmd.challenge_id, deps.clock.now())
    if challenge is None or challenge.purpose != "link":
        raise InvalidChallenge()
    async with deps.uow() as uow:
        user = await uow.users.get(challenge.user_id)
    if not user.exists or user.credentials_version != challenge.credentials_version:
        raise InvalidChallenge()
    username_key = policy.username_key(user.username)
    address = cmd.client_address or "unknown"
    await _count_attempt(deps, username_key, address)
    if not (await deps.passwords.verify(user.password_hash, cmd.password)).ok:
        log.info("account link refused: wrong password", user_id=str(user.user_id))
        raise InvalidCredentials()
    await _forgive(deps, username_key, address)
    return await finish_sign_in(deps, await organisation.link(deps, user, challenge.external))


def second_step(deps: Deps, user: User) -> contract.MfaChallenge:
    """The password was right: a challenge to answer with a code, or to enrol with
    first (a role that needs a second factor, none yet). No token before it."""
    enrol = not user.factors
    ttl = timedelta(minutes=deps.settings.mfa_challenge_minutes)
    challenge = Challenge(
        user_id=user.user_id,
        purpose="enrol" if enrol else "verify",
        credentials_version=user.credentials_version,
        expires_at=deps.clock.now() + ttl,
    )
    log.info("second factor due", user_id=str(user.user_id), enrol=enrol)
    return contract.MfaChallenge(
        status="mfa_enrolment_required" if enrol else "mfa_required",
        challenge_id=deps.factors.challenge(challenge),
        methods=["totp"] if enrol else _methods(user),
        expires_in=int(ttl.total_seconds()),
    )


def _methods(user: User) -> list[Literal["totp", "recovery_code", "passkey"]]:
    """How this account may answer its second step."""
    methods: list[Literal["totp", "recovery_code", "passkey"]] = []
    if "totp" in user.factors:
        methods += ["totp", "recovery_code"]
    if "passkey" in user.factors:
        methods.append("passkey")
    return methods


def pair_key(username_key: str, address: str) -> str:
    # A username cannot hold a control character, so U+001F separates the two.
    return f"{username_key}\x1f{address}"


async def _count_attempt(deps: Deps, username_key: str, address: str) -> None:
    """Check the limits and count this attempt as a failure, committed in its own
    short transaction before the password is even looked at: whatever fails later
    (a bad row, a timeout, a crash), the guess has been counted. A success then
    forgives it (`_forgive`). Serialised per account, so a burst of parallel
    guesses cannot overshoot."""
    limits = deps.limits
    async with deps.uow() as uow:
        await uow.limits.serialise(limits.login_account, username_key)
        waits = [
            await uow.limits.retry_after(limits.login_pair, pair_key(username_key, address)),
            await uow.limits.retry_after(limits.login_address, address),
            await uow.limits.delay(
                limits.login_account, username_key, deps.settings.login_max_delay_seconds
            ),
        ]
        if any(waits):
            raise RateLimited(max(w for w in waits if w))
        await uow.limits.hit(limits.login_pair, pair_key(username_key, address))
        await uow.limits.hit(limits.login_address, address)
        await uow.limits.hit(limits.login_account, username_key)
        await uow.commit()


async def _forgive(deps: Deps, username_key: str, address: str) -> None:
    """The right password: this account's failures are forgotten, and this attempt
    no longer counts against the address."""
    limits = deps.limits
    async with deps.uow() as uow:
        await uow.limits.clear(limits.login_pair, pair_key(username_key, address))
        await uow.limits.clear(limits.login_account, username_key)
        await uow.limits.forgive(limits.login_address, address)
        await uow.commit()


async def lift_login_limits(uow: UnitOfWork, deps: Deps, username_key: str) -> None:
    """After a password reset: the owner proved the mailbox, the guessing is moot."""
    await uow.limits.clear(deps.limits.login_account, username_key)
    await uow.limits.clear_prefix(deps.limits.login_pair, pair_key(username_key, ""))


async def _rehash(deps: Deps, user: User, password: str) -> None:
    new_hash = await deps.passwords.hash(password)
    try:
        async with deps.uow() as uow:
            await uow.users.save(user, user.rehash_password(new_hash))
            await uow.commit()
        log.info("password rehashed with current parameters", user_id=str(user.user_id))
    except ConcurrencyError:
        pass  # the next login will try again


async def start_session(deps: Deps, user: User) -> contract.SessionTokens:
    session_id, raw, now = uuid4(), deps.tokens.new(), deps.clock.now()
    ttl = timedelta(days=deps.settings.refresh_token_days)
    events = Session.start(
        session_id=session_id,
        user_id=user.user_id,
        refresh_token_hash=deps.tokens.hash(raw),
        expires_at=now + ttl,
        now=now,
        credentials_version=user.credentials_version,
    )
    async with deps.uow() as uow:
        await uow.sessions.save(Session(session_id=session_id), events)
        await uow.commit()
    log.info("session started", user_id=str(user.user_id), session_id=str(session_id))
    return _tokens(deps, user, session_id, raw, now, ttl)


def _tokens(
    deps: Deps, user: User, session_id: UUID, refresh_token: str, now: datetime, ttl: timedelta
) -> contract.SessionTokens:
    grant = AccessGrant(
        user.user_id, user.roles, session_id, user.name, user.locale, now, user.credentials_version
    )
    access = deps.access_tokens.issue(grant)
    return contract.SessionTokens(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(deps.access_tokens.ttl.total_seconds()),
        refresh_expires_in=int(ttl.total_seconds()),
    )


async def refresh(cmd: contract.RefreshSession, deps: Deps) -> contract.SessionTokens:
    presented = deps.tokens.hash(cmd.refresh_token)
    async with deps.uow() as uow:
        session_id = await uow.sessions.id_by_refresh_token(presented)
    if session_id is None:
        raise Unauthenticated("This refresh token is not valid; log in again.")
    # The successor is a keyed function of the presented token: two concurrent
    # refreshes with one token compute the same new one (`Session.rotate`).
    raw = deps.tokens.successor(cmd.refresh_token)
    ttl = timedelta(days=deps.settings.refresh_token_days)
    grace = timedelta(seconds=deps.settings.refresh_grace_seconds)

    async def attempt() -> contract.SessionTokens:
        now = deps.clock.now()
        async with deps.uow() as uow:
            session = await uow.sessions.get(session_id)
            try:
                events = session.rotate(presented, deps.tokens.hash(raw), now + ttl, now, grace)
            except RefreshTokenReused:
                await uow.sessions.save(session, session.revoke("refresh_token_reuse", now))
                await uow.commit()
                log.warning(
                    "refresh token reused; session revoked",
                    session_id=str(session_id),
                    user_id=str(session.user_id),
                )
                raise
            assert session.user_id is not None
            user = await uow.users.get(session.user_id)
            if user.credentials_version != session.credentials_version or not user.is_active:
                # Opened with a password that has changed since (also by a login
                # that was in flight while the reset committed).
                await uow.sessions.save(session, session.revoke("password_changed", now))
                await uow.commit()
                raise SessionEnded("The password has changed since this login; log in again.")
            if not events:  # the twin of the refresh just made: the same pair again
                assert session.rotated_at is not None
                return _tokens(deps, user, session_id, raw, session.rotated_at, ttl)
            await uow.sessions.save(session, events)
            await uow.commit()
        return _tokens(deps, user, session_id, raw, now, ttl)

    return await retry_on_conflict(attempt)


async def logout(cmd: contract.Logout, deps: Deps) -> contract.LoggedOut:
    if cmd.actor.session_id is None:
        return contract.LoggedOut()
    session_id = UUID(cmd.actor.session_id)

    async def attempt() -> None:
        async with deps.uow() as uow:
            session = await uow.sessions.get(session_id)
            if session.user_id != cmd.actor.user_id:
                return  # not the caller's session: nothing to do
            await uow.sessions.save(session, session.revoke("logout", deps.clock.now()))
            await uow.commit()

    await retry_on_conflict(attempt)
    # Its access tokens stop working now, not when they expire.
    await deps.revocations.revoke_session(session_id)
    log.info("logged out", session_id=str(session_id))
    return contract.LoggedOut()


async def profile(cmd: contract.GetProfile, deps: Deps) -> contract.Profile:
    async with deps.uow() as uow:
        user = await uow.users.get(cmd.actor.user_id)
    if not user.exists or user.registered_at is None:
        raise Unauthenticated("This account does not exist.")
    if user.status == "deactivated":  # a token the revocation list missed (NATS away)
        raise Unauthenticated("This account is deactivated.")
    return contract.Profile(
        user_id=user.user_id,
        name=user.name,
        username=user.username,
        email=user.email,
        locale=user.language,
        roles=user.roles,
        status=user.status,
        registered_at=user.registered_at,
    )


async def complete_oidc_sign_in(
    cmd: org_contract.CompleteOidcSignIn, deps: Deps
) -> contract.SignIn:
    """The provider's redirect back. The flow must be identity's own, unexpired, its
    `state` the one sent, and complete once (a replayed callback is refused); the
    provider's answer must hold (adapters/oidc.py); then as any sign-in."""
    flow = organisation.open_flow(deps, cmd.flow)
    if flow is None or deps.oidc is None:
        raise InvalidChallenge()
    if not hmac.compare_digest(cmd.state.encode(), flow.state.encode()):
        log.warning("OpenID Connect callback with another flow's state")
        raise InvalidChallenge()
    async with deps.uow() as uow:
        replayed = await uow.limits.take(deps.limits.oidc_flow, deps.tokens.hash(flow.state))
        await uow.commit()
    if replayed:
        log.warning("OpenID Connect flow replayed")
        raise InvalidChallenge()
    try:
        person = await deps.oidc.person(flow, cmd.code, cmd.iss, deps.clock.now())
    except OrganisationRefused as refused:
        log.warning("OpenID Connect sign-in refused", reason=refused.reason)
        raise
    found = await organisation.account_for(deps, person, flow.locale)
    if isinstance(found, contract.MfaChallenge):
        return contract.SignIn(found)
    return await finish_sign_in(deps, found)


async def complete_saml_sign_in(
    cmd: org_contract.CompleteSamlSignIn, deps: Deps
) -> contract.SignIn:
    """What the IdP posted: it must answer an unexpired request of ours, hold
    (adapters/saml.py), and its assertion be new (an assertion ID is good once)."""
    if deps.saml is None:
        raise InvalidChallenge()
    request_id = deps.saml.answered_request(cmd.saml_response)
    if not organisation.saml_request_is_ours(deps, request_id):
        log.warning("SAML response to no request of ours")
        raise OrganisationRefused("unsolicited or expired")
    assert request_id is not None
    try:
        answer = await deps.saml.answer(cmd.saml_response, request_id)
    except OrganisationRefused as refused:
        log.warning("SAML sign-in refused", reason=refused.reason)
        raise
    async with deps.uow() as uow:
        key = deps.tokens.hash(answer.assertion_id)
        replayed = await uow.limits.take(deps.limits.saml_assertion, key)
        await uow.commit()
    if replayed:
        log.warning("SAML assertion replayed")
        raise OrganisationRefused("replayed assertion")
    locale = cmd.relay_state if cmd.relay_state in ("el", "en") else None
    found = await organisation.account_for(deps, answer.person, locale)
    if isinstance(found, contract.MfaChallenge):
        return contract.SignIn(found)
    return await finish_sign_in(deps, found)


HANDLERS: UseCases = {
    contract.Login: login,
    org_contract.LinkAccount: link_account,
    org_contract.CompleteOidcSignIn: complete_oidc_sign_in,
    org_contract.CompleteSamlSignIn: complete_saml_sign_in,
    contract.RefreshSession: refresh,
    contract.Logout: logout,
    contract.GetProfile: profile,
}

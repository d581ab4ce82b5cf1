"""Logging in, refreshing and ending a session; the signed-in user's profile.

A refresh token is rotated on every use; presenting an already rotated one
(a stolen copy) revokes the session for the thief and the owner alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from helpdesk.contracts import identity as contract
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import (
    InvalidCredentials,
    NotActivated,
    RateLimited,
    RefreshTokenReused,
    Unauthenticated,
)
from helpdesk.identity.domain.session import Session
from helpdesk.identity.domain.user import User
from helpdesk.identity.handlers.deps import Deps, UseCases
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


async def login(cmd: contract.Login, deps: Deps) -> contract.SessionTokens:
    username_key, limits = policy.username_key(cmd.username), deps.limits
    async with deps.uow() as uow:
        waits = [
            await uow.limits.retry_after(limits.login_account, username_key),
            await uow.limits.retry_after(limits.login_address, cmd.client_address)
            if cmd.client_address
            else None,
        ]
        if any(waits):
            raise RateLimited(max(w for w in waits if w))
        user_id = await uow.users.id_by_username(username_key)
        user = None if user_id is None else await uow.users.get(user_id)
    # An unknown username is checked against a decoy hash: same cost, same answer.
    checked = await deps.passwords.verify(user.password_hash if user else None, cmd.password)
    async with deps.uow() as uow:
        if user is None or not checked.ok:
            await uow.limits.hit(limits.login_account, username_key)
            if cmd.client_address:
                await uow.limits.hit(limits.login_address, cmd.client_address)
            await uow.commit()
            log.info("login failed", user_id=str(user_id) if user_id else None)
            raise InvalidCredentials()
        await uow.limits.clear(limits.login_account, username_key)
        await uow.commit()
    if not user.is_active:
        raise NotActivated()
    if checked.needs_rehash:
        await _rehash(deps, user, cmd.password)
    return await _start_session(deps, user)


async def _rehash(deps: Deps, user: User, password: str) -> None:
    new_hash = await deps.passwords.hash(password)
    try:
        async with deps.uow() as uow:
            await uow.users.save(user, user.rehash_password(new_hash))
            await uow.commit()
        log.info("password rehashed with current parameters", user_id=str(user.user_id))
    except ConcurrencyError:
        pass  # the next login will try again


async def _start_session(deps: Deps, user: User) -> contract.SessionTokens:
    session_id, raw, now = uuid4(), deps.tokens.new(), deps.clock.now()
    ttl = timedelta(days=deps.settings.refresh_token_days)
    events = Session.start(
        session_id=session_id,
        user_id=user.user_id,
        refresh_token_hash=deps.tokens.hash(raw),
        expires_at=now + ttl,
        now=now,
    )
    async with deps.uow() as uow:
        await uow.sessions.save(Session(session_id=session_id), events)
        await uow.commit()
    log.info("session started", user_id=str(user.user_id), session_id=str(session_id))
    return _tokens(deps, user, session_id, raw, now, ttl)


def _tokens(
    deps: Deps, user: User, session_id: UUID, refresh_token: str, now: datetime, ttl: timedelta
) -> contract.SessionTokens:
    access = deps.access_tokens.issue(
        user_id=user.user_id,
        roles=user.roles,
        session_id=session_id,
        name=user.name,
        locale=user.locale,
        now=now,
    )
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

    async def attempt() -> contract.SessionTokens:
        raw, now = deps.tokens.new(), deps.clock.now()
        ttl = timedelta(days=deps.settings.refresh_token_days)
        async with deps.uow() as uow:
            session = await uow.sessions.get(session_id)
            try:
                events = session.rotate(presented, deps.tokens.hash(raw), now + ttl, now)
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
    log.info("logged out", session_id=str(session_id))
    return contract.LoggedOut()


async def profile(cmd: contract.GetProfile, deps: Deps) -> contract.Profile:
    async with deps.uow() as uow:
        user = await uow.users.get(cmd.actor.user_id)
    if not user.exists or user.registered_at is None:
        raise Unauthenticated("This account does not exist.")
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


HANDLERS: UseCases = {
    contract.Login: login,
    contract.RefreshSession: refresh,
    contract.Logout: logout,
    contract.GetProfile: profile,
}

"""Forgotten password and forgotten username, by e-mail.

Every request by e-mail (these two, and resending an activation link) has one
enumeration-safe shape, `answer_by_email`: rate-limited per address, the same
answer, and no faster when the address is unknown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from helpdesk.contracts import identity as contract
from helpdesk.contracts.replies import FieldError
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import InvalidToken, RateLimited
from helpdesk.identity.domain.user import User, UserEvent
from helpdesk.identity.handlers.deps import Deps, Limit, TokenPurpose, UnitOfWork, UseCases
from helpdesk.identity.handlers.sessions import lift_login_limits
from helpdesk.servicekit.handlers import invalid, retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


async def answer_by_email(
    deps: Deps,
    request: contract.EmailRequest,
    limit: Limit,
    act: Callable[[UnitOfWork, User], Awaitable[None]],
) -> contract.Accepted:
    """Run `act` on the account using the request's e-mail address, if any (in a unit
    of work it commits, retried on a conflict); answer the same either way, in the
    request's language."""
    started = time.monotonic()
    key = policy.email_key(request.email)
    async with deps.uow() as uow:
        wait = await uow.limits.take(limit, key)
        await uow.commit()
        user_id = None if wait else await uow.users.id_by_email(key)
    if wait:
        raise RateLimited(wait)
    if user_id is not None:
        owner = user_id

        async def attempt() -> None:
            async with deps.uow() as uow:
                await act(uow, await uow.users.get(owner))

        await retry_on_conflict(attempt)
    elapsed = time.monotonic() - started
    await asyncio.sleep(max(0.0, deps.settings.recovery_min_seconds - elapsed))
    return contract.Accepted(message=contract.RECOVERY_ACCEPTED_MESSAGE[request.locale])


async def save_with_mailed_token(
    uow: UnitOfWork,
    deps: Deps,
    user: User,
    lifetime: timedelta,
    issue: Callable[[str, datetime], Sequence[UserEvent]],
) -> None:
    """Save and commit the events of `issue` (a new token's hash and expiry): the raw
    token leaves only sealed for the notifier's mail."""
    raw = deps.tokens.new()
    events = issue(deps.tokens.hash(raw), deps.clock.now() + lifetime)
    await uow.users.save(user, events, sealed_token=deps.seal(raw))
    await uow.commit()


async def mailed_token_owner(
    deps: Deps, token: str, purpose: TokenPurpose, not_valid: str
) -> tuple[str, User]:
    """The hash of a mailed `token` and the account it was issued to;
    `InvalidToken(not_valid)` when no account holds it."""
    hashed = deps.tokens.hash(token)
    async with deps.uow() as uow:
        owner = await uow.users.id_by_token(hashed, purpose)
        user = None if owner is None else await uow.users.get(owner)
    if user is None:
        raise InvalidToken(not_valid)
    return hashed, user


async def request_password_reset(
    cmd: contract.RequestPasswordReset, deps: Deps
) -> contract.Accepted:
    async def send_reset_link(uow: UnitOfWork, user: User) -> None:
        if user.source != "local":  # its password is the organisation's to reset
            log.info("no reset for an account of the organisation", user_id=str(user.user_id))
            return
        lifetime = timedelta(minutes=deps.settings.reset_token_minutes)
        await save_with_mailed_token(uow, deps, user, lifetime, user.request_password_reset)
        log.info("password reset requested", user_id=str(user.user_id))

    return await answer_by_email(deps, cmd, deps.limits.password_recovery, send_reset_link)


async def request_username_reminder(
    cmd: contract.RequestUsernameReminder, deps: Deps
) -> contract.Accepted:
    async def send_username(uow: UnitOfWork, user: User) -> None:
        await uow.users.save(user, user.remind_username(deps.clock.now()))
        await uow.commit()
        log.info("username reminder requested", user_id=str(user.user_id))

    return await answer_by_email(deps, cmd, deps.limits.username_recovery, send_username)


async def complete_password_reset(
    cmd: contract.CompletePasswordReset, deps: Deps
) -> contract.PasswordReset:
    """Set the new password; every reset token and every session of the user ends."""
    hashed, user = await mailed_token_owner(
        deps, cmd.token, "reset", "This password reset link is not valid."
    )
    user_id = user.user_id
    problems = policy.password_problems(cmd.new_password, username=user.username, email=user.email)
    if problems:
        raise invalid(
            [FieldError(field="new_password", message=f"new_password {p}") for p in problems]
        )
    new_hash = await deps.passwords.hash(cmd.new_password)

    async def attempt() -> tuple[int, int]:
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            now = deps.clock.now()
            await uow.users.save(user, user.complete_password_reset(hashed, new_hash, now))
            revoked = await _end_every_session(uow, user_id, now)
            # The owner proved the mailbox: the account-wide slowdown is lifted.
            await lift_login_limits(uow, deps, policy.username_key(user.username))
            await uow.commit()
        return revoked, user.credentials_version

    revoked, version = await retry_on_conflict(attempt)
    # Sessions opened while this committed fail at their next refresh (credentials
    # version); access tokens already out stop working now.
    await deps.revocations.revoke_user(user_id, version)
    log.info("password changed by reset", user_id=str(user_id), sessions_revoked=revoked)
    return contract.PasswordReset()


async def _end_every_session(uow: UnitOfWork, user_id: UUID, now: datetime) -> int:
    sessions = await uow.sessions.active_of(user_id)
    for session_id in sessions:
        session = await uow.sessions.get(session_id)
        await uow.sessions.save(session, session.revoke("password_changed", now))
    return len(sessions)


HANDLERS: UseCases = {
    contract.RequestPasswordReset: request_password_reset,
    contract.CompletePasswordReset: complete_password_reset,
    contract.RequestUsernameReminder: request_username_reminder,
}

"""Second factors of local accounts: the second step of a sign-in, enrolling TOTP
(at sign-in, when the role needs it, or from the account page) and removing it.

Rules, in order:
1. A correct password of an account with a factor, or whose role is in
   HELPDESK_MFA_REQUIRED_ROLES, gets a challenge, never tokens (`sessions.login`).
2. A challenge is signed, expires, names its purpose, and dies with a password
   change; an enrolment challenge only enrols, a verification one only verifies.
3. Every code attempt is counted before it is checked, per account over every
   address, with the login limits (HELPDESK_LOGIN_ACCOUNT_LIMIT per window);
   the right code forgives the count.
4. A TOTP code is good once: its time step, and every earlier one, is used up.
   A recovery code is good once.
"""

from __future__ import annotations

from uuid import UUID

from helpdesk.contracts import factors as contract
from helpdesk.contracts.actors import Actor
from helpdesk.contracts.identity import SessionTokens
from helpdesk.identity.domain.errors import InvalidChallenge, InvalidCode, RateLimited
from helpdesk.identity.domain.user import User, UserEvent
from helpdesk.identity.handlers.deps import ChallengePurpose, Deps, UseCases
from helpdesk.identity.handlers.sessions import start_session
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


# ---------------------------------------------------------------- at sign-in


async def complete_sign_in(cmd: contract.CompleteSignIn, deps: Deps) -> SessionTokens:
    user = await challenged(deps, cmd.challenge_id, "verify")
    await count_code_attempt(deps, user.user_id)

    async def attempt() -> User:
        async with deps.uow() as uow:
            current = await uow.users.get(user.user_id)
            await uow.users.save(current, _use_code(deps, current, cmd.code))
            await uow.commit()
        return current

    signed_in = await retry_on_conflict(attempt)
    await forgive_codes(deps, user.user_id)
    log.info("second factor accepted", user_id=str(user.user_id))
    return await start_session(deps, signed_in)


async def enrol_totp_at_sign_in(
    cmd: contract.EnrolTotpAtSignIn, deps: Deps
) -> contract.TotpEnrolment:
    return _new_enrolment(deps, await challenged(deps, cmd.challenge_id, "enrol"))


async def confirm_totp_at_sign_in(
    cmd: contract.ConfirmTotpAtSignIn, deps: Deps
) -> contract.TotpEnrolled:
    user = await challenged(deps, cmd.challenge_id, "enrol")
    enrolled, codes = await _confirm(deps, user.user_id, cmd.enrolment_token, cmd.code)
    return contract.TotpEnrolled(recovery_codes=codes, tokens=await start_session(deps, enrolled))


# ---------------------------------------------------------------- signed in


async def start_totp_enrolment(
    cmd: contract.StartTotpEnrolment, deps: Deps
) -> contract.TotpEnrolment:
    return _new_enrolment(deps, await signed_in(deps, cmd.actor))


async def confirm_totp_enrolment(
    cmd: contract.ConfirmTotpEnrolment, deps: Deps
) -> contract.TotpEnrolled:
    user = await signed_in(deps, cmd.actor)
    _, codes = await _confirm(deps, user.user_id, cmd.enrolment_token, cmd.code)
    return contract.TotpEnrolled(recovery_codes=codes)


async def get_factors(query: contract.GetFactors, deps: Deps) -> contract.Factors:
    return factors_of(deps, await signed_in(deps, query.actor))


async def remove_factor(cmd: contract.RemoveFactor, deps: Deps) -> contract.Factors:
    """Off, with its recovery codes; its owner is mailed. An account whose role needs
    a factor enrols again at its next sign-in."""

    async def attempt() -> User:
        async with deps.uow() as uow:
            user = await uow.users.get(cmd.actor.user_id)
            if cmd.factor == "totp":
                await uow.users.save(user, user.remove_totp(deps.clock.now()))
            else:
                await uow.users.save(user, user.remove_passkeys(deps.clock.now()))
            await uow.commit()
        return user

    user = await retry_on_conflict(attempt)
    log.info("second factor removed", user_id=str(user.user_id), factor=cmd.factor)
    return factors_of(deps, user)


# ---------------------------------------------------------------- the steps


async def challenged(deps: Deps, raw: str, purpose: ChallengePurpose) -> User:
    """The account a genuine, unexpired challenge of `purpose` is for (rule 2)."""
    challenge = deps.factors.open_challenge(raw, deps.clock.now())
    if challenge is None or challenge.purpose != purpose:
        raise InvalidChallenge()
    async with deps.uow() as uow:
        user = await uow.users.get(challenge.user_id)
    enrolled = bool(user.factors)
    if (
        not user.is_active
        or user.credentials_version != challenge.credentials_version
        or enrolled != (purpose == "verify")
    ):
        raise InvalidChallenge()
    return user


async def signed_in(deps: Deps, actor: Actor) -> User:
    async with deps.uow() as uow:
        user = await uow.users.get(actor.user_id)
    if not user.is_active:
        raise InvalidChallenge()
    return user


def _use_code(deps: Deps, user: User, code: str) -> list[UserEvent]:
    """The events of accepting `code` (a TOTP or a recovery code), or `InvalidCode`."""
    digits = code.replace(" ", "")
    if digits.isdigit():
        secret = deps.factors.open(user.totp_sealed_secret or "")
        step = None if secret is None else deps.factors.totp_step(secret, digits, deps.clock.now())
        if step is None:
            raise InvalidCode()
        return user.use_totp_step(step)
    return user.use_recovery_code(deps.factors.hash_recovery_code(code), deps.clock.now())


def _new_enrolment(deps: Deps, user: User) -> contract.TotpEnrolment:
    """A fresh seed for its owner, and the same sealed to identity until the first code."""
    secret = deps.factors.new_totp_secret()
    return contract.TotpEnrolment(
        secret=secret,
        otpauth_uri=deps.factors.otpauth_uri(secret, user.username),
        enrolment_token=deps.factors.seal(f"{user.user_id}:{secret}"),
    )


async def _confirm(
    deps: Deps, user_id: UUID, enrolment_token: str, code: str
) -> tuple[User, list[str]]:
    """Check the first code against the sealed seed and turn TOTP on with ten fresh
    recovery codes (returned in the clear this once)."""
    await count_code_attempt(deps, user_id)
    opened = deps.factors.open(enrolment_token) or ""
    owner, _, secret = opened.partition(":")
    step = deps.factors.totp_step(secret, code, deps.clock.now()) if secret else None
    if owner != str(user_id) or step is None:
        raise InvalidCode()
    codes = deps.factors.new_recovery_codes()
    hashes = [deps.factors.hash_recovery_code(c) for c in codes]

    async def attempt() -> User:
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            now = deps.clock.now()
            await uow.users.save(
                user, user.enrol_totp(deps.factors.seal(secret), step, hashes, now)
            )
            await uow.commit()
        return user

    user = await retry_on_conflict(attempt)
    await forgive_codes(deps, user_id)
    log.info("second factor added", user_id=str(user_id), factor="totp")
    return user, codes


async def count_code_attempt(deps: Deps, user_id: UUID) -> None:
    """Rule 3: counted and committed before the code is looked at."""
    limit = deps.limits.second_factor
    async with deps.uow() as uow:
        wait = await uow.limits.take(limit, str(user_id))
        await uow.commit()
    if wait:
        log.info("second factor rate-limited", user_id=str(user_id))
        raise RateLimited(wait)


async def forgive_codes(deps: Deps, user_id: UUID) -> None:
    async with deps.uow() as uow:
        await uow.limits.clear(deps.limits.second_factor, str(user_id))
        await uow.commit()


def factors_of(deps: Deps, user: User) -> contract.Factors:
    return contract.Factors(
        items=[contract.Factor(factor=kind, added_at=at) for kind, at in user.factors.items()],
        recovery_codes_left=len(user.recovery_code_hashes),
        required=any(role in deps.settings.mfa_roles for role in user.roles),
    )


HANDLERS: UseCases = {
    contract.CompleteSignIn: complete_sign_in,
    contract.EnrolTotpAtSignIn: enrol_totp_at_sign_in,
    contract.ConfirmTotpAtSignIn: confirm_totp_at_sign_in,
    contract.StartTotpEnrolment: start_totp_enrolment,
    contract.ConfirmTotpEnrolment: confirm_totp_enrolment,
    contract.GetFactors: get_factors,
    contract.RemoveFactor: remove_factor,
}

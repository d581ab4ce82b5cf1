"""Passkeys: add one (signed in), answer a sign-in's second step with one, or
sign in with one alone (docs/sso.md, "Passkeys").

Rules, in order:
1. A ceremony's challenge is made by py_webauthn (adapters/passkeys.py) and
   travels sealed with whose it is and until when; it is good for its own
   ceremony only (registration, second step, password-less).
2. The credential must verify: the challenge, the relying party and origin,
   user verification, and the signature with the stored public key.
3. Its signature counter must grow (a cloned authenticator's does not): then
   `PasskeyUsed` records it, so an assertion is not accepted twice either.
4. Password-less: the credential names its account; user verification makes
   it two factors in one, so no second step follows (but an account of a role
   that needs a factor has one: this passkey).
5. Attempts count against the account's second-factor limit, as codes do.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from uuid import UUID

from helpdesk.contracts import identity as identity_contract
from helpdesk.contracts import passkeys as contract
from helpdesk.contracts.factors import Factors
from helpdesk.identity.domain.errors import InvalidChallenge, InvalidCode, NotConfigured
from helpdesk.identity.domain.user import User
from helpdesk.identity.handlers.deps import Deps, PasskeyCeremonies, UseCases
from helpdesk.identity.handlers.factors import (
    challenged,
    count_code_attempt,
    factors_of,
    forgive_codes,
    signed_in,
)
from helpdesk.identity.handlers.sessions import finish_sign_in, start_session
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

CEREMONY_MINUTES = 5


def _ceremonies(deps: Deps) -> PasskeyCeremonies:
    if deps.passkeys is None:
        raise NotConfigured("Passkeys are not set up here.")
    return deps.passkeys


def _seal(deps: Deps, purpose: str, challenge: bytes, user_id: UUID | None) -> str:
    expires = deps.clock.now() + timedelta(minutes=CEREMONY_MINUTES)
    values = {
        "purpose": purpose,
        "challenge": base64.urlsafe_b64encode(challenge).decode(),
        "user": str(user_id) if user_id else None,
        "expires": expires.isoformat(),
    }
    return deps.factors.seal(json.dumps(values))


def _open(deps: Deps, sealed: str, purpose: str) -> tuple[bytes, UUID | None]:
    """The challenge and whose it is, if `sealed` is a live ceremony of `purpose` (rule 1)."""
    opened = deps.factors.open(sealed)
    try:
        values = json.loads(opened or "")
        live = deps.clock.now() < datetime.fromisoformat(values["expires"])
        if values["purpose"] != purpose or not live:
            raise InvalidChallenge()
        user = UUID(values["user"]) if values["user"] else None
        return base64.urlsafe_b64decode(values["challenge"]), user
    except (ValueError, KeyError, TypeError):
        raise InvalidChallenge() from None


# ---------------------------------------------------------------- adding one


async def start_registration(
    cmd: contract.StartPasskeyRegistration, deps: Deps
) -> contract.PasskeyOptions:
    user = await signed_in(deps, cmd.actor)
    options, challenge = _ceremonies(deps).registration_options(
        user.user_id.bytes, user.username, user.name, list(user.passkeys)
    )
    ceremony = _seal(deps, "register", challenge, user.user_id)
    return contract.PasskeyOptions(options=json.loads(options), ceremony=ceremony)


async def finish_registration(cmd: contract.FinishPasskeyRegistration, deps: Deps) -> Factors:
    challenge, owner = _open(deps, cmd.ceremony, "register")
    if owner != cmd.actor.user_id:
        raise InvalidChallenge()
    new = _ceremonies(deps).verify_registration(cmd.credential, challenge)

    async def attempt() -> User:
        async with deps.uow() as uow:
            user = await uow.users.get(cmd.actor.user_id)
            events = user.add_passkey(
                new.credential_id, new.public_key, new.sign_count, deps.clock.now()
            )
            await uow.users.save(user, events)
            await uow.commit()
        return user

    user = await retry_on_conflict(attempt)
    log.info("passkey added", user_id=str(user.user_id))
    return factors_of(deps, user)


# ---------------------------------------------------------------- signing in


async def start_sign_in(cmd: contract.StartPasskeySignIn, deps: Deps) -> contract.PasskeyOptions:
    """Options for the second step of `cmd.challenge_id`'s account (its passkeys
    listed), or for a sign-in without a password (any passkey of this site)."""
    user_id = None
    allow: list[str] = []
    if cmd.challenge_id is not None:
        user = await challenged(deps, cmd.challenge_id, "verify")
        user_id, allow = user.user_id, list(user.passkeys)
        if not allow:
            raise InvalidCode("This account has no passkey; use its code.")
    options, challenge = _ceremonies(deps).authentication_options(allow)
    ceremony = _seal(deps, "second_step" if user_id else "sign_in", challenge, user_id)
    return contract.PasskeyOptions(options=json.loads(options), ceremony=ceremony)


async def complete_sign_in(
    cmd: contract.CompletePasskeySignIn, deps: Deps
) -> identity_contract.SignIn:
    ceremonies = _ceremonies(deps)
    second_step = cmd.challenge_id is not None
    challenge, owner = _open(deps, cmd.ceremony, "second_step" if second_step else "sign_in")
    if second_step:
        assert cmd.challenge_id is not None
        step_of = await challenged(deps, cmd.challenge_id, "verify")
        if step_of.user_id != owner:
            raise InvalidChallenge()
    credential_id = ceremonies.credential_id_of(cmd.credential)
    async with deps.uow() as uow:
        user_id = await uow.users.id_by_passkey(credential_id) if credential_id else None
    if user_id is None or (owner is not None and user_id != owner):
        raise InvalidCode("This passkey is not known here.")
    await count_code_attempt(deps, user_id)  # rule 5
    assert credential_id is not None

    async def attempt() -> User:
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            known = user.passkeys.get(credential_id)
            if known is None:
                raise InvalidCode()
            count = ceremonies.verify_authentication(
                cmd.credential, challenge, known.public_key, known.sign_count
            )
            await uow.users.save(user, user.use_passkey(credential_id, count))  # rule 3
            await uow.commit()
        return user

    user = await retry_on_conflict(attempt)
    await forgive_codes(deps, user_id)
    log.info("signed in with a passkey", user_id=str(user_id), second_step=second_step)
    if second_step:
        return identity_contract.SignIn(await start_session(deps, user))
    if not user.is_active:
        return await finish_sign_in(deps, user)  # refuses
    return identity_contract.SignIn(await start_session(deps, user))  # rule 4


HANDLERS: UseCases = {
    contract.StartPasskeyRegistration: start_registration,
    contract.FinishPasskeyRegistration: finish_registration,
    contract.StartPasskeySignIn: start_sign_in,
    contract.CompletePasskeySignIn: complete_sign_in,
}

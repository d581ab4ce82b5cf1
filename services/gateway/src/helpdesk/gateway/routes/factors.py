"""/api/v1 second factors: the second step of a sign-in, and the caller's own
factors (contracts in helpdesk.contracts.factors; docs/sso.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.types import DecoratedCallable

from helpdesk.contracts import factors as contract
from helpdesk.contracts import organisation, passkeys
from helpdesk.contracts.identity import MfaChallenge, SessionTokens
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send
from helpdesk.gateway.openapi import answers
from helpdesk.gateway.routes.common import NO_STORE, from_client

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _secret_answer(
    path: str, model: Any, *problems: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """POST `path`, answered with `model` (tokens, a seed, recovery codes, a ceremony:
    never stored) or one of `problems`."""
    return router.post(
        path, response_model=model, responses=answers(*problems), dependencies=NO_STORE
    )


@_secret_answer("/sessions/mfa", SessionTokens, "invalid_code", "invalid_challenge", "rate_limited")
async def complete_sign_in(request: Request, body: contract.MfaAnswer) -> SessionTokens:
    """Answer a login's `mfa_required` challenge with a TOTP code or a recovery code.

    Each code counts against the account's limit before it is checked (429 with
    Retry-After past it); a code is good once."""
    return await send(request, from_client(request, contract.CompleteSignIn, body))


@_secret_answer(
    "/sessions/link",
    SessionTokens | MfaChallenge,
    "invalid_credentials",
    "invalid_challenge",
    "rate_limited",
    "conflict",
)
async def link_account(
    request: Request, body: organisation.LinkAnswer
) -> SessionTokens | MfaChallenge:
    """Answer a login's `link_required` challenge with the local account's own
    password: the organisation's identity is joined to it, and the sign-in goes on
    (tokens, or the second factor's challenge). Counted as a login of that account."""
    return (await send(request, from_client(request, organisation.LinkAccount, body))).root


@_secret_answer("/sessions/mfa/totp", contract.TotpEnrolment, "invalid_challenge", "conflict")
async def enrol_totp_at_sign_in(
    request: Request, body: contract.ChallengeRef
) -> contract.TotpEnrolment:
    """With an `mfa_enrolment_required` challenge: a new TOTP seed for the app."""
    return await send(request, contract.EnrolTotpAtSignIn(**body.model_dump()))


@_secret_answer(
    "/sessions/mfa/totp/confirm",
    contract.TotpEnrolled,
    "invalid_code",
    "invalid_challenge",
    "conflict",
    "rate_limited",
)
async def confirm_totp_at_sign_in(
    request: Request, body: contract.TotpConfirmationAtSignIn
) -> contract.TotpEnrolled:
    """The app's first code turns TOTP on: the tokens, and ten recovery codes shown once."""
    return await send(request, from_client(request, contract.ConfirmTotpAtSignIn, body))


@router.get("/me/factors", response_model=contract.Factors, responses=answers("not_found"))
async def list_factors(request: Request, actor: CurrentActor) -> contract.Factors:
    """The caller's second factors, the recovery codes left, and whether the role needs one."""
    return await send(request, contract.GetFactors(actor=actor))


@_secret_answer("/me/factors/totp", contract.TotpEnrolment, "not_found", "conflict")
async def start_totp_enrolment(request: Request, actor: CurrentActor) -> contract.TotpEnrolment:
    """A new TOTP seed for the caller's app; confirm it with the app's first code."""
    return await send(request, contract.StartTotpEnrolment(actor=actor))


@_secret_answer(
    "/me/factors/totp/confirm",
    contract.TotpEnrolled,
    "invalid_code",
    "not_found",
    "conflict",
    "rate_limited",
)
async def confirm_totp_enrolment(
    request: Request, actor: CurrentActor, body: contract.TotpConfirmation
) -> contract.TotpEnrolled:
    """TOTP on for the caller: ten recovery codes, shown this once."""
    command = from_client(request, contract.ConfirmTotpEnrolment, body, actor=actor)
    return await send(request, command)


@router.delete(
    "/me/factors/{factor}",
    response_model=contract.Factors,
    responses=answers("not_found", "conflict", "forbidden"),
)
async def remove_factor(
    request: Request, actor: CurrentActor, factor: Literal["totp", "passkey"]
) -> contract.Factors:
    """Remove a second factor (its owner is mailed); a role that needs one enrols again
    at the next sign-in."""
    return await send(request, contract.RemoveFactor(actor=actor, factor=factor))


# ---------------------------------------------------------------- passkeys (WebAuthn)


@_secret_answer("/me/factors/passkey", passkeys.PasskeyOptions, "not_found")
async def start_passkey(request: Request, actor: CurrentActor) -> passkeys.PasskeyOptions:
    """Creation options for `navigator.credentials.create`, and the sealed ceremony."""
    return await send(request, passkeys.StartPasskeyRegistration(actor=actor))


@router.post(
    "/me/factors/passkey/confirm",
    response_model=contract.Factors,
    responses=answers("invalid_code", "invalid_challenge", "conflict", "not_found"),
)
async def confirm_passkey(
    request: Request, actor: CurrentActor, body: passkeys.PasskeyCredential
) -> contract.Factors:
    """The browser's new credential (its `toJSON()`) with the ceremony: the passkey is added."""
    command = passkeys.FinishPasskeyRegistration(actor=actor, **body.model_dump())
    return await send(request, command)


@_secret_answer("/sessions/passkey", passkeys.PasskeyOptions, "invalid_challenge", "not_found")
async def start_passkey_sign_in(
    request: Request, body: passkeys.PasskeySignInRequest
) -> passkeys.PasskeyOptions:
    """Request options for `navigator.credentials.get`: without a body's
    `challenge_id`, a sign-in without a password; with one, a login's second step."""
    return await send(request, passkeys.StartPasskeySignIn(**body.model_dump()))


@_secret_answer(
    "/sessions/passkey/complete",
    SessionTokens | MfaChallenge,
    "invalid_code",
    "invalid_challenge",
    "rate_limited",
    "account_not_activated",
)
async def complete_passkey_sign_in(
    request: Request, body: passkeys.PasskeySignIn
) -> SessionTokens | MfaChallenge:
    """The browser's assertion with the ceremony: tokens. Counted against the
    account's second-factor limit; a passkey's signature counter must grow."""
    command = from_client(request, passkeys.CompletePasskeySignIn, body)
    return (await send(request, command)).root

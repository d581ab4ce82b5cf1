"""/api/v1 second factors: the second step of a sign-in, and the caller's own
factors (contracts in helpdesk.contracts.factors; docs/sso.md)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response

from helpdesk.contracts import factors as contract
from helpdesk.contracts import organisation, passkeys
from helpdesk.contracts.identity import MfaChallenge, SessionTokens
from helpdesk.gateway.auth import CurrentActor, client_address
from helpdesk.gateway.commands import send
from helpdesk.gateway.openapi import answers

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "/sessions/mfa",
    response_model=SessionTokens,
    responses=answers("invalid_code", "invalid_challenge", "rate_limited"),
)
async def complete_sign_in(
    request: Request, response: Response, body: contract.MfaAnswer
) -> SessionTokens:
    """Answer a login's `mfa_required` challenge with a TOTP code or a recovery code.

    Each code counts against the account's limit before it is checked (429 with
    Retry-After past it); a code is good once."""
    _no_store(response)
    command = contract.CompleteSignIn(**body.model_dump(), client_address=client_address(request))
    return await send(request, command)


@router.post(
    "/sessions/link",
    response_model=SessionTokens | MfaChallenge,
    responses=answers("invalid_credentials", "invalid_challenge", "rate_limited", "conflict"),
)
async def link_account(
    request: Request, response: Response, body: organisation.LinkAnswer
) -> SessionTokens | MfaChallenge:
    """Answer a login's `link_required` challenge with the local account's own
    password: the organisation's identity is joined to it, and the sign-in goes on
    (tokens, or the second factor's challenge). Counted as a login of that account."""
    _no_store(response)
    command = organisation.LinkAccount(**body.model_dump(), client_address=client_address(request))
    return (await send(request, command)).root


@router.post(
    "/sessions/mfa/totp",
    response_model=contract.TotpEnrolment,
    responses=answers("invalid_challenge", "conflict"),
)
async def enrol_totp_at_sign_in(
    request: Request, response: Response, body: contract.ChallengeRef
) -> contract.TotpEnrolment:
    """With an `mfa_enrolment_required` challenge: a new TOTP seed for the app."""
    _no_store(response)
    return await send(request, contract.EnrolTotpAtSignIn(**body.model_dump()))


@router.post(
    "/sessions/mfa/totp/confirm",
    response_model=contract.TotpEnrolled,
    responses=answers("invalid_code", "invalid_challenge", "conflict", "rate_limited"),
)
async def confirm_totp_at_sign_in(
    request: Request, response: Response, body: contract.TotpConfirmationAtSignIn
) -> contract.TotpEnrolled:
    """The app's first code turns TOTP on: the tokens, and ten recovery codes shown once."""
    _no_store(response)
    command = contract.ConfirmTotpAtSignIn(
        **body.model_dump(), client_address=client_address(request)
    )
    return await send(request, command)


@router.get("/me/factors", response_model=contract.Factors, responses=answers("not_found"))
async def list_factors(request: Request, actor: CurrentActor) -> contract.Factors:
    """The caller's second factors, the recovery codes left, and whether the role needs one."""
    return await send(request, contract.GetFactors(actor=actor))


@router.post(
    "/me/factors/totp",
    response_model=contract.TotpEnrolment,
    responses=answers("not_found", "conflict"),
)
async def start_totp_enrolment(
    request: Request, response: Response, actor: CurrentActor
) -> contract.TotpEnrolment:
    """A new TOTP seed for the caller's app; confirm it with the app's first code."""
    _no_store(response)
    return await send(request, contract.StartTotpEnrolment(actor=actor))


@router.post(
    "/me/factors/totp/confirm",
    response_model=contract.TotpEnrolled,
    responses=answers("invalid_code", "not_found", "conflict", "rate_limited"),
)
async def confirm_totp_enrolment(
    request: Request, response: Response, actor: CurrentActor, body: contract.TotpConfirmation
) -> contract.TotpEnrolled:
    """TOTP on for the caller: ten recovery codes, shown this once."""
    _no_store(response)
    command = contract.ConfirmTotpEnrolment(
        **body.model_dump(), actor=actor, client_address=client_address(request)
    )
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


@router.post(
    "/me/factors/passkey",
    response_model=passkeys.PasskeyOptions,
    responses=answers("not_found"),
)
async def start_passkey(
    request: Request, response: Response, actor: CurrentActor
) -> passkeys.PasskeyOptions:
    """Creation options for `navigator.credentials.create`, and the sealed ceremony."""
    _no_store(response)
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


@router.post(
    "/sessions/passkey",
    response_model=passkeys.PasskeyOptions,
    responses=answers("invalid_challenge", "not_found"),
)
async def start_passkey_sign_in(
    request: Request, response: Response, body: passkeys.PasskeySignInRequest
) -> passkeys.PasskeyOptions:
    """Request options for `navigator.credentials.get`: without a body's
    `challenge_id`, a sign-in without a password; with one, a login's second step."""
    _no_store(response)
    return await send(request, passkeys.StartPasskeySignIn(**body.model_dump()))


@router.post(
    "/sessions/passkey/complete",
    response_model=SessionTokens | MfaChallenge,
    responses=answers("invalid_code", "invalid_challenge", "rate_limited", "account_not_activated"),
)
async def complete_passkey_sign_in(
    request: Request, response: Response, body: passkeys.PasskeySignIn
) -> SessionTokens | MfaChallenge:
    """The browser's assertion with the ceremony: tokens. Counted against the
    account's second-factor limit; a passkey's signature counter must grow."""
    _no_store(response)
    command = passkeys.CompletePasskeySignIn(
        **body.model_dump(), client_address=client_address(request)
    )
    return (await send(request, command)).root

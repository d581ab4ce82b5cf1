"""/api/v1 accounts, sessions, recovery and /me: HTTP to the identity service's
commands (contracts in helpdesk.contracts.identity; DESIGN.md §4)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.types import DecoratedCallable

from helpdesk.contracts import identity as contract
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send
from helpdesk.gateway.openapi import answers
from helpdesk.gateway.routes.common import NO_STORE, from_client

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _answered_by_email(path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """POST `path`: a request by e-mail (a new activation link, a forgotten password or
    username), answered 202 the same whether or not the address has an account."""
    return router.post(
        path, status_code=202, response_model=contract.Accepted, responses=answers("rate_limited")
    )


@router.post(
    "/accounts",
    status_code=202,
    response_model=contract.Registered,
    responses=answers("username_taken", "forbidden", "rate_limited"),
)
async def register(request: Request, body: contract.Registration) -> contract.Registered:
    """Create an account pending activation; the activation e-mail is on its way.

    An address that is already registered gets the same answer (its owner is
    told by e-mail), so the API does not reveal which addresses have accounts.
    """
    return await send(request, from_client(request, contract.RegisterUser, body))


@router.post(
    "/accounts/activate",
    response_model=contract.Activated,
    responses=answers("invalid_token", "invalid_credentials", "conflict"),
)
async def activate(request: Request, body: contract.ActivationToken) -> contract.Activated:
    """Activate with the token from the e-mail and the password chosen at registration
    (401 if it is not that password); activating again is a success too."""
    return await send(request, contract.ActivateAccount(**body.model_dump()))


@router.post(
    "/accounts/activation/cancel",
    response_model=contract.RegistrationCancelled,
    responses=answers("invalid_token", "conflict"),
)
async def cancel_registration(
    request: Request, body: contract.CancellationToken
) -> contract.RegistrationCancelled:
    """ "This was not me": the owner of the mailbox cancels a registration they never
    made with the activation mail's token; the username and address are free again."""
    return await send(request, contract.CancelRegistration(**body.model_dump()))


@_answered_by_email("/accounts/activation/resend")
async def resend_activation(request: Request, body: contract.EmailRequest) -> contract.Accepted:
    """Send a fresh activation link (the same answer whether or not the address is known)."""
    return await send(request, from_client(request, contract.ResendActivation, body))


@router.post(
    "/sessions",
    response_model=contract.SessionTokens | contract.MfaChallenge,
    responses=answers(
        "invalid_credentials",
        "account_not_activated",
        "rate_limited",
        # the organisation's directory (docs/sso.md): a new account it vouches for
        "registration_closed",
        "username_taken",
        "conflict",
    ),
    dependencies=NO_STORE,
)
async def login(
    request: Request, body: contract.Credentials
) -> contract.SessionTokens | contract.MfaChallenge:
    """Log in with username (Όνομα σύνδεσης) and password: a local one, or the
    organisation's LDAP / Active Directory password when one is configured.

    An account with a second factor, or whose role needs one, gets no tokens yet
    but a challenge: `mfa_required` (answer it at `POST /api/v1/sessions/mfa`) or
    `mfa_enrolment_required` (enrol TOTP first at `POST /api/v1/sessions/mfa/totp`).
    `link_required`: the directory vouched for someone whose e-mail address a local
    account has; its password joins the two (`POST /api/v1/sessions/link`).
    """
    return (await send(request, from_client(request, contract.Login, body))).root


@router.post(
    "/sessions/refresh",
    response_model=contract.SessionTokens,
    responses=answers("unauthenticated", "invalid_token", "token_expired"),
    dependencies=NO_STORE,
)
async def refresh(request: Request, body: contract.RefreshToken) -> contract.SessionTokens:
    """Exchange the refresh token for a new pair; the old refresh token stops working."""
    return await send(request, contract.RefreshSession(**body.model_dump()))


@router.delete("/sessions/current", status_code=204)
async def logout(request: Request, actor: CurrentActor) -> Response:
    """End this session: its refresh token is revoked."""
    await send(request, contract.Logout(actor=actor))
    return Response(status_code=204)


@_answered_by_email("/recovery/password")
async def request_password_reset(
    request: Request, body: contract.EmailRequest
) -> contract.Accepted:
    """Forgot your password? A reset link goes to the address if it has an account."""
    return await send(request, from_client(request, contract.RequestPasswordReset, body))


@router.post(
    "/recovery/password/reset",
    response_model=contract.PasswordReset,
    responses=answers("invalid_token", "conflict"),
)
async def complete_password_reset(
    request: Request, body: contract.NewPassword
) -> contract.PasswordReset:
    """Set a new password with the mailed token; every other token and session is revoked."""
    command = contract.CompletePasswordReset(**body.model_dump())
    return await send(request, command)


@_answered_by_email("/recovery/username")
async def request_username_reminder(
    request: Request, body: contract.EmailRequest
) -> contract.Accepted:
    """Forgot your username? It is mailed to the address if it has an account."""
    return await send(request, from_client(request, contract.RequestUsernameReminder, body))


@router.get("/me", response_model=contract.Profile, responses=answers("not_found"))
async def me(request: Request, actor: CurrentActor) -> contract.Profile:
    """The caller's profile and roles."""
    return await send(request, contract.GetProfile(actor=actor))

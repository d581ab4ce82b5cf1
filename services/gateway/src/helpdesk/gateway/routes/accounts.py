"""/api/v1 accounts, sessions, recovery and /me: HTTP to the identity service's
commands (contracts in helpdesk.contracts.identity; DESIGN.md §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from helpdesk.contracts import identity as contract
from helpdesk.gateway.auth import CurrentActor, client_address
from helpdesk.gateway.commands import send

router = APIRouter(prefix="/api/v1", tags=["accounts"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterBody(_Body):
    name: str = Field(min_length=1, max_length=200, description="Full name")
    username: str = Field(
        min_length=1, max_length=64, description="3-64 letters (Greek too), digits, '.', '_', '-'"
    )
    email: EmailStr
    password: str = Field(
        min_length=1, max_length=1024, description="10-128 characters, not a common password"
    )
    locale: contract.Locale = contract.DEFAULT_LOCALE


class TokenBody(_Body):
    token: str = Field(min_length=1, max_length=200)


class EmailBody(_Body):
    email: EmailStr
    locale: contract.Locale = Field(
        default=contract.DEFAULT_LOCALE, description="Language of the answer (el, en)"
    )


class LoginBody(_Body):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class RefreshBody(_Body):
    refresh_token: str = Field(min_length=1, max_length=200)


class ResetBody(_Body):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=1024)


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "/accounts",
    status_code=202,
    response_model=contract.Registered,
    responses={409: _PROBLEM, 422: _PROBLEM, 429: _PROBLEM},
)
async def register(request: Request, body: RegisterBody) -> contract.Registered:
    """Create an account pending activation; the activation e-mail is on its way.

    An address that is already registered gets the same answer (its owner is
    told by e-mail), so the API does not reveal which addresses have accounts.
    """
    command = contract.RegisterUser(**body.model_dump(), client_address=client_address(request))
    return await send(request, command)


@router.post("/accounts/activate", response_model=contract.Activated, responses={400: _PROBLEM})
async def activate(request: Request, body: TokenBody) -> contract.Activated:
    """Activate with the token from the e-mail; activating again is a success too."""
    return await send(request, contract.ActivateAccount(token=body.token))


@router.post(
    "/accounts/activation/resend",
    status_code=202,
    response_model=contract.Accepted,
    responses={429: _PROBLEM},
)
async def resend_activation(request: Request, body: EmailBody) -> contract.Accepted:
    """Send a fresh activation link (the same answer whether or not the address is known)."""
    command = contract.ResendActivation(
        email=body.email, client_address=client_address(request), locale=body.locale
    )
    return await send(request, command)


@router.post(
    "/sessions",
    response_model=contract.SessionTokens,
    responses={401: _PROBLEM, 403: _PROBLEM, 429: _PROBLEM},
)
async def login(request: Request, response: Response, body: LoginBody) -> contract.SessionTokens:
    """Log in with username (Όνομα σύνδεσης) and password."""
    command = contract.Login(
        username=body.username, password=body.password, client_address=client_address(request)
    )
    _no_store(response)
    return await send(request, command)


@router.post("/sessions/refresh", response_model=contract.SessionTokens, responses={401: _PROBLEM})
async def refresh(
    request: Request, response: Response, body: RefreshBody
) -> contract.SessionTokens:
    """Exchange the refresh token for a new pair; the old refresh token stops working."""
    _no_store(response)
    return await send(request, contract.RefreshSession(refresh_token=body.refresh_token))


@router.delete("/sessions/current", status_code=204, responses={401: _PROBLEM})
async def logout(request: Request, actor: CurrentActor) -> Response:
    """End this session: its refresh token is revoked."""
    await send(request, contract.Logout(actor=actor))
    return Response(status_code=204)


@router.post(
    "/recovery/password",
    status_code=202,
    response_model=contract.Accepted,
    responses={429: _PROBLEM},
)
async def request_password_reset(request: Request, body: EmailBody) -> contract.Accepted:
    """Forgot your password? A reset link goes to the address if it has an account."""
    command = contract.RequestPasswordReset(
        email=body.email, client_address=client_address(request), locale=body.locale
    )
    return await send(request, command)


@router.post(
    "/recovery/password/reset",
    response_model=contract.PasswordReset,
    responses={400: _PROBLEM, 422: _PROBLEM},
)
async def complete_password_reset(request: Request, body: ResetBody) -> contract.PasswordReset:
    """Set a new password with the mailed token; every other token and session is revoked."""
    command = contract.CompletePasswordReset(token=body.token, new_password=body.new_password)
    return await send(request, command)


@router.post(
    "/recovery/username",
    status_code=202,
    response_model=contract.Accepted,
    responses={429: _PROBLEM},
)
async def request_username_reminder(request: Request, body: EmailBody) -> contract.Accepted:
    """Forgot your username? It is mailed to the address if it has an account."""
    command = contract.RequestUsernameReminder(
        email=body.email, client_address=client_address(request), locale=body.locale
    )
    return await send(request, command)


@router.get("/me", response_model=contract.Profile, responses={401: _PROBLEM})
async def me(request: Request, actor: CurrentActor) -> contract.Profile:
    """The caller's profile and roles."""
    return await send(request, contract.GetProfile(actor=actor))

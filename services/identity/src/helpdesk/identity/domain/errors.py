"""Every way identity says no: each a `Refused` with its code, so a handler
raises it and the kit answers the typed error (DESIGN.md §4 error table).

Messages are for people and never carry a secret.
"""

from __future__ import annotations

from helpdesk.contracts.replies import Refused


class DomainError(Refused):
    """Base of identity's refusals (`conflict` unless a subclass says otherwise)."""


class InvalidToken(DomainError):
    """An activation or reset link that is unknown, used or superseded."""

    code = "invalid_token"


class TokenExpired(InvalidToken):
    pass


class AlreadyActive(DomainError):
    code = "conflict"


class Unauthenticated(DomainError):
    """The caller must (log in and) prove who they are again."""

    code = "unauthenticated"


class SessionEnded(Unauthenticated):
    """Revoked, expired or unknown: the client must log in again."""


class RefreshTokenReused(Unauthenticated):
    """An already rotated refresh token came back: the session is revoked."""


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    default_message = "Wrong username or password."


class WrongPassword(InvalidCredentials):
    """Activation with the mailed token but not the password chosen at registration."""

    def __init__(self) -> None:
        DomainError.__init__(self, "This is not the password chosen at registration.")


class NotActivated(DomainError):
    code = "account_not_activated"
    default_message = "Activate your account first with the link we sent to your e-mail address."


class UsernameTaken(DomainError):
    code = "username_taken"
    default_message = "This username is taken; choose another."
    field_error = ("username", "username is taken")


class EmailTaken(DomainError):
    """Only operators hear this; self-registration never reveals a known address."""

    code = "email_taken"
    default_message = "An account already uses this e-mail."


class UnknownUser(DomainError):
    code = "not_found"

    def __init__(self, username: str) -> None:
        super().__init__(f"No user is called {username!r}.")


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(
            f"Too many attempts. Try again in {wait_seconds} seconds.", retry_after=wait_seconds
        )


class InvalidCode(DomainError):
    """A second-factor code that is wrong, already used, or of an older time step."""

    code = "invalid_code"
    default_message = "This code is not valid."


class InvalidChallenge(DomainError):
    """A sign-in challenge that is unknown, expired or for another step: log in again."""

    code = "invalid_challenge"
    default_message = "This sign-in has expired or is not valid; log in again."


class AlreadyEnrolled(DomainError):
    code = "conflict"


class AlreadyLinked(DomainError):
    code = "conflict"


class UnverifiedEmail(DomainError):
    """The identity provider has not verified the e-mail address it sends, and an
    account here already has it: such a claim neither joins nor takes it over."""

    code = "forbidden"


class DirectoryUnavailable(DomainError):
    """The organisation's directory did not answer (or refused TLS): a refusal
    to sign in through it now, never a sign-in."""

    code = "unavailable"


class RegistrationClosed(DomainError):
    """HELPDESK_REGISTRATION forbids this new account (closed, or the address is
    outside the allowed domains)."""

    code = "registration_closed"


class OrganisationRefused(InvalidCredentials):
    """The identity provider's answer does not hold (a replayed or injected code, a
    token from another issuer, a wrong signature, algorithm, audience or nonce).
    The reason is logged; the person hears only that the sign-in failed."""

    default_message = "The sign-in with your organisation did not succeed; try again."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class NotConfigured(DomainError):
    """A sign-in this site has not set up (no HELPDESK_OIDC_ISSUER, …)."""

    code = "not_found"

"""What identity's use cases need from the world, and nothing more.

`Deps` is everything a handler gets besides its command; `UnitOfWork` is the
persistence port: one transaction over the accounts (event streams with their
read models and outbox), the sessions and the rate limits. The composition
root (`bootstrap.py`) binds the PostgreSQL adapters; use-case tests bind the
in-memory fakes of `tests/unit/identity/fakes.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, Self, TypeAlias
from uuid import UUID

from pydantic import BaseModel

from helpdesk.contracts.actors import Role
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.export import AccountEvent, ExportedSession, FailedSignIn
from helpdesk.contracts.messages import Request
from helpdesk.contracts.people import UserSummary
from helpdesk.contracts.privacy import ErasureRequest
from helpdesk.identity.domain.organisation import OrganisationPerson
from helpdesk.identity.domain.session import Session, SessionEvent
from helpdesk.identity.domain.user import Source, User, UserEvent
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.clock import Clock

TokenPurpose = Literal["activation", "reset"]


# ---------------------------------------------------------------- persistence


class Users(Protocol):
    async def get(self, user_id: UUID) -> User:
        """The user folded from its stream (`exists` is False for an unknown id)."""

    async def save(
        self, user: User, events: Sequence[UserEvent], *, sealed_token: str | None = None
    ) -> None:
        """Record `events` as the user's next ones and apply them to `user`.

        Raises `ConcurrencyError` if the stream moved since `user` was loaded,
        `UsernameTaken` / `EmailTaken` if another account holds the key. Their
        integration events are queued in the same transaction; `sealed_token`
        is the token whose hash `events` carry, sealed for the notifier's mail
        (`Deps.seal`): the raw token never leaves the use case.
        """

    async def id_by_username(self, username_key: str) -> UUID | None: ...

    async def search(self, prefix: str | None, limit: int) -> list[UserSummary]:
        """The users directory (admins' list), by username."""

    async def id_by_email(self, email_key: str) -> UUID | None: ...

    async def id_by_token(self, token_hash: str, purpose: TokenPurpose) -> UUID | None: ...

    async def id_by_external(self, source: Source, external_id: str) -> UUID | None:
        """The account the organisation's `source` knows by `external_id` (linked or made)."""

    async def of_source(self, source: Source) -> dict[str, UUID]:
        """Every account that comes from `source`: external id -> user id."""

    async def erasure_requests(self) -> list[ErasureRequest]:
        """The pending requests to be erased, oldest first (admins' list)."""

    async def unactivated_before(self, cutoff: datetime) -> list[UUID]:
        """Accounts registered before `cutoff` and never activated (retention)."""

    async def publish(self, event: EventData) -> None:
        """Queue an event that is not a user's (a retention run's counts)."""

    async def id_by_passkey(self, credential_id: str) -> UUID | None:
        """The account a passkey (its base64url credential id) belongs to."""


class Sessions(Protocol):
    async def get(self, session_id: UUID) -> Session: ...

    async def save(self, session: Session, events: Sequence[SessionEvent]) -> None:
        """Record `events` and apply them to `session` (`ConcurrencyError` as for users)."""

    async def id_by_refresh_token(self, token_hash: str) -> UUID | None:
        """The session that ever issued this refresh token (current or rotated)."""

    async def active_of(self, user_id: UUID) -> list[UUID]: ...


class AccountRecords(Protocol):
    """What identity recorded of an account besides its profile: the export's reads
    (`adapters/export.py`)."""

    async def history(self, user_id: UUID) -> list[AccountEvent]: ...

    async def sessions(
        self, user_id: UUID, after: int, limit: int
    ) -> tuple[list[ExportedSession], int | None]:
        """One page of sign-ins, oldest first, and where the next page starts."""

    async def failed_sign_ins(self, bucket: str, username_key: str) -> list[FailedSignIn]: ...


@dataclass(frozen=True)
class Limit:
    bucket: str  # what is limited, e.g. "login-account"
    limit: int
    window: timedelta


class RateLimits(Protocol):
    async def retry_after(self, limit: Limit, key: str) -> int | None:
        """Seconds until one more attempt is allowed, or None if it is allowed now."""

    async def hit(self, limit: Limit, key: str) -> None:
        """Count one attempt."""

    async def take(self, limit: Limit, key: str) -> int | None:
        """Count an attempt unless the limit is reached (then return the wait).
        Serialised per key; commit right after it."""

    async def clear(self, limit: Limit, key: str) -> None: ...

    async def clear_prefix(self, limit: Limit, prefix: str) -> None:
        """Forget every key of `limit` that starts with `prefix`."""

    async def forgive(self, limit: Limit, key: str) -> None:
        """Forget the newest attempt counted for `key` (an attempt that succeeded)."""

    async def delay(self, limit: Limit, key: str, max_seconds: int) -> int | None:
        """Growing delays instead of a lock-out: past `limit.limit` attempts in the
        window, the next one waits 1 s, 2 s, 4 s, ... (at most `max_seconds`)
        after the newest. Seconds still to wait, or None."""

    async def serialise(self, limit: Limit, key: str) -> None:
        """Hold a lock on (`limit`, `key`) until the transaction ends, so concurrent
        checks-and-hits of one key cannot overshoot."""


class UnitOfWork(Protocol):
    """One transaction: `async with deps.uow() as uow: …; await uow.commit()`.

    Whatever was not committed when the block ends is rolled back; `commit`
    may be called more than once (a rate-limit hit must stick even when the
    command is then refused).
    """

    @property
    def users(self) -> Users: ...
    @property
    def sessions(self) -> Sessions: ...
    @property
    def limits(self) -> RateLimits: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


# ---------------------------------------------------------------- secrets


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str | None, password: str) -> Verification:
        """`None` (an unknown user) is checked against a decoy: same cost, not ok."""


class Tokens(Protocol):
    """Opaque single-use tokens (activation, reset, refresh), stored only as hashes."""

    def new(self) -> str: ...

    def hash(self, raw: str) -> str: ...

    def successor(self, raw: str) -> str:
        """The refresh token that replaces `raw`: a keyed function of it, so two
        concurrent refreshes with one token compute the same new one (and nobody
        without the key can)."""


class Revocations(Protocol):
    """Where the gateway looks before it accepts an access token (a NATS KV bucket
    whose entries live as long as an access token)."""

    async def revoke_session(self, session_id: UUID) -> None: ...

    async def revoke_user(self, user_id: UUID, credentials_version: int) -> None:
        """Access tokens of `user_id` minted for an older credentials version are void."""


@dataclass(frozen=True)
class AccessGrant:
    """Who an access token is for, issued `now`, in which session."""

    user_id: UUID
    roles: list[Role]
    session_id: UUID
    name: str
    locale: str
    now: datetime
    credentials_version: int = 0


class AccessTokens(Protocol):
    @property
    def ttl(self) -> timedelta: ...

    def issue(self, grant: AccessGrant) -> str: ...


ChallengePurpose = Literal["verify", "enrol", "link"]


@dataclass(frozen=True)
class Challenge:
    """A sign-in's second step: whose, for what, valid while the password is the same.
    A "link" challenge also carries the organisation's identity to join the account
    to, once its local password is proven (`"<source>:<external id>"`)."""

    user_id: UUID
    purpose: ChallengePurpose
    credentials_version: int
    expires_at: datetime
    external: str = ""


class SecondFactorSecrets(Protocol):
    """TOTP codes, sealed seeds, recovery-code hashes and signed challenges."""

    def new_totp_secret(self) -> str: ...

    def otpauth_uri(self, secret: str, account: str) -> str: ...

    def totp_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The time step `code` belongs to (within the allowed drift), or None."""

    def seal(self, value: str) -> str: ...

    def open(self, sealed: str) -> str | None:
        """What `seal` sealed, or None if `sealed` is not genuine."""

    def new_recovery_codes(self) -> list[str]: ...

    def hash_recovery_code(self, code: str) -> str: ...

    def challenge(self, value: Challenge) -> str: ...

    def open_challenge(self, raw: str, now: datetime) -> Challenge | None:
        """The challenge if `raw` is genuine and unexpired, else None."""


# ---------------------------------------------------------------- the organisation


class Directory(Protocol):
    """The organisation's LDAP / Active Directory (adapters/directory.py).
    Raises `DirectoryUnavailable` when it cannot be asked (down, TLS refused)."""

    async def authenticate(self, username: str, password: str) -> OrganisationPerson | None:
        """The person if `password` is theirs; None for a wrong or empty password,
        an unknown username or one that matches more than one entry."""

    async def everyone(self) -> list[OrganisationPerson]:
        """Every person the user filter finds (for the directory sync)."""


@dataclass(frozen=True)
class OidcFlow:
    """One OpenID Connect sign-in between the redirect and the callback; the browser
    holds it sealed (only identity can open it), and it is good once."""

    state: str
    nonce: str
    verifier: str  # the PKCE code verifier
    redirect_uri: str
    locale: str
    expires_at: datetime


class IdentityProvider(Protocol):
    """The organisation's OpenID Connect provider (adapters/oidc.py). Raises
    `DirectoryUnavailable` when it does not answer, `OrganisationRefused` when its
    answer does not hold."""

    async def authorization(self, flow: OidcFlow) -> str:
        """Where to send the browser: the authorization request of `flow`."""

    async def person(
        self, flow: OidcFlow, code: str, issuer: str | None, now: datetime
    ) -> OrganisationPerson:
        """Who the provider says signed in, once the code and its ID token hold."""


@dataclass(frozen=True)
class SamlAnswer:
    person: OrganisationPerson
    assertion_id: str


class ServiceProvider(Protocol):
    """The helpdesk as a SAML 2.0 service provider of the organisation's IdP
    (adapters/saml.py). `answer` raises `OrganisationRefused` for a response that
    does not hold (unsigned, wrapped, expired, for another audience or request)."""

    async def metadata(self) -> str: ...

    async def redirect(self, request_id: str, relay_state: str) -> str:
        """The IdP's sign-on URL carrying an AuthnRequest with this ID."""

    def answered_request(self, saml_response: str) -> str | None:
        """The request ID a response claims to answer (not yet trusted)."""

    async def answer(self, saml_response: str, request_id: str) -> SamlAnswer: ...


@dataclass(frozen=True)
class NewPasskey:
    credential_id: str  # base64url
    public_key: str  # base64url COSE key
    sign_count: int


class PasskeyCeremonies(Protocol):
    """WebAuthn registration and authentication (adapters/passkeys.py). The
    `verify_*` methods raise `InvalidCode` for an answer that does not hold."""

    def registration_options(
        self, user_handle: bytes, username: str, display_name: str, exclude: list[str]
    ) -> tuple[str, bytes]:
        """The browser's creation options (JSON) and their challenge."""

    def verify_registration(self, credential: str, challenge: bytes) -> NewPasskey: ...

    def authentication_options(self, allow: list[str]) -> tuple[str, bytes]:
        """Request options (JSON; no credentials listed: any passkey of this site)."""

    def credential_id_of(self, credential: str) -> str | None: ...

    def verify_authentication(
        self, credential: str, challenge: bytes, public_key: str, sign_count: int
    ) -> int:
        """The authenticator's new signature counter, once the assertion holds."""


# ---------------------------------------------------------------- all of it


@dataclass(frozen=True)
class Limits:
    login_pair: Limit  # failures of one account from one address
    login_address: Limit  # failures from one address, over every account
    login_account: Limit  # failures of one account over every address: delays, no lock
    registration: Limit
    resend: Limit
    password_recovery: Limit
    username_recovery: Limit
    owner_notice: Limit
    second_factor: Limit  # wrong codes of one account, over every address
    oidc_flow: Limit  # an OpenID Connect flow (its state) completes once
    saml_assertion: Limit  # a SAML assertion (its ID) is good once

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        login = timedelta(minutes=s.login_window_minutes)
        recovery = timedelta(minutes=s.recovery_window_minutes)
        return cls(
            login_pair=Limit("login-pair", s.login_account_limit, login),
            login_address=Limit("login-address", s.login_address_limit, login),
            login_account=Limit("login-account", s.login_slowdown_after, timedelta(days=1)),
            owner_notice=Limit("owner-notice", s.owner_notice_limit, timedelta(hours=1)),
            second_factor=Limit("second-factor", s.login_account_limit, login),
            oidc_flow=Limit("oidc-flow", 1, timedelta(minutes=s.mfa_challenge_minutes)),
            # Longer than any assertion lives (SimpleSAMLphp, Shibboleth: 5 minutes).
            saml_assertion=Limit("saml-assertion", 1, timedelta(hours=2)),
            registration=Limit(
                "registration-address",
                s.registration_address_limit,
                timedelta(minutes=s.registration_window_minutes),
            ),
            resend=Limit("activation-resend", s.recovery_limit, recovery),
            password_recovery=Limit("recovery-password", s.recovery_limit, recovery),
            username_recovery=Limit("recovery-username", s.recovery_limit, recovery),
        )


@dataclass(frozen=True)
class Deps:
    uow: Callable[[], UnitOfWork]  # a new unit of work for each transaction
    passwords: PasswordHasher
    tokens: Tokens
    access_tokens: AccessTokens
    clock: Clock
    settings: Settings  # token lifetimes, recovery timing
    revocations: Revocations
    # Seals a raw token for the notifier alone (its public key; docs/security.md).
    seal: Callable[[str], str]
    factors: SecondFactorSecrets
    directory: Directory | None = None  # None: HELPDESK_LDAP_URL is not set
    oidc: IdentityProvider | None = None  # None: HELPDESK_OIDC_ISSUER is not set
    saml: ServiceProvider | None = None  # None: HELPDESK_SAML_IDP_METADATA_URL is not set
    passkeys: PasskeyCeremonies | None = None
    records: AccountRecords | None = None  # the export's reads; None in use-case tests

    @property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings)


# A table of use cases, `{Command: handler}`, as each handlers module exports it.
UseCases: TypeAlias = Mapping[type[Request[Any]], Callable[[Any, Deps], Awaitable[BaseModel]]]

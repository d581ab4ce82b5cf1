"""The identity service's contracts: commands, results and integration events.

Commands travel over NATS request-reply on `identity.cmd.<name>` (queries on
`identity.query.<name>`); each answers `Reply[<Result>]`. Integration events
are published on the `IDENTITY` stream as `identity.events.user.<snake_name>`.

Activation and reset tokens travel in `UserRegistered`, `ActivationResent`
and `RecoveryRequested` (for the notifier's mail) only SEALED for the
notifier (schema 2; `helpdesk.servicekit.sealing`): nobody else who reads the
stream can open them. The identity service stores nothing but their hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Generic, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, RootModel

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.messages import Command, Query, ResultT
from helpdesk.contracts.personal import OWN
from helpdesk.contracts.text import NO_CONTROL_CHARS, SECRET, SINGLE_LINE

SERVICE = "identity"

Locale = Literal["el", "en"]
DEFAULT_LOCALE: Locale = "el"

# What the system says after a registration (and, identically, when the address
# was already registered). The Greek text is the FAQ's, verbatim.
REGISTERED_MESSAGE: dict[str, str] = {
    "el": "Ο λογαριασμός σας έχει δημιουργηθεί και έχει αποσταλεί σύνδεσμος ενεργοποίησης στη "
    "διεύθυνση ηλεκτρονικού ταχυδρομείου που εισάγατε. Σημειώστε πως, πριν μπορέσετε να "
    "συνδεθείτε, πρέπει να ενεργοποιήσετε το λογαριασμό ακολουθώντας το σύνδεσμο "
    "ενεργοποίησης στο email που σας στάλθηκε πρίν συνδεθείτε.",
    "en": "Your account has been created and an activation link has been sent to the e-mail "
    "address you entered. Note that, before you can log in, you must activate the account by "
    "following the activation link in the e-mail that was sent to you.",
}

# What every recovery / resend request answers, whether or not the address is known.
# The 202 answer to every request by e-mail (recovery, resend), whatever the
# address: in the language the caller asked for, never revealing an account.
RECOVERY_ACCEPTED_MESSAGE: dict[str, str] = {
    "el": "Αν η διεύθυνση ηλεκτρονικού ταχυδρομείου ανήκει σε λογαριασμό, σας στάλθηκε "
    "μήνυμα με οδηγίες. Επιστρέψτε στο email σας σε λίγα λεπτά.",
    "en": "If an account uses this e-mail address, a message with instructions is on its way. "
    "Check your mailbox in a few minutes.",
}

# Access tokens cut off before they expire (logout, password reset): a NATS KV
# bucket written by identity, read by the gateway on every authenticated request.
# Entries live as long as an access token (plus a margin), then the tokens they
# void have expired anyway.
REVOCATIONS_BUCKET = "revocations"


def revoked_session_key(session_id: UUID | str) -> str:
    """Present: every access token of this session is void."""
    return f"session.{session_id}"


def revoked_user_key(user_id: UUID | str) -> str:
    """Value: the user's current credentials version; tokens with an older `cv` are void."""
    return f"user.{user_id}"


# ---------------------------------------------------------------- results


class Accepted(BaseModel):
    """The same body whatever happened behind it (no account enumeration)."""

    status: Literal["accepted"] = "accepted"
    message: str


class Registered(BaseModel):
    status: Literal["pending_activation"] = "pending_activation"
    message: str


class Activated(BaseModel):
    status: Literal["active"] = "active"
    already_active: bool = False


class RegistrationCancelled(BaseModel):
    status: Literal["cancelled"] = "cancelled"


class SessionTokens(BaseModel):
    status: Literal["signed_in"] = "signed_in"
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_expires_in: int


SecondFactorKind = Literal["totp", "passkey"]
AccountSource = Literal["local", "ldap", "oidc", "saml"]


class MfaChallenge(BaseModel):
    """The password was right; a second step is due before any token is issued.

    `mfa_required`: answer `challenge_id` with a code (`POST /api/v1/sessions/mfa`).
    `mfa_enrolment_required`: the account's role needs a second factor and it has
    none yet: enrol one with this challenge first (`POST /api/v1/sessions/mfa/totp`).
    `link_required`: the organisation vouched for a person whose e-mail address a
    local account here has: prove that account's password once to join the two
    (`POST /api/v1/sessions/link`).
    """

    status: Literal["mfa_required", "mfa_enrolment_required", "link_required"]
    challenge_id: str = Field(description="Opaque, signed, valid for `expires_in` seconds")
    methods: list[Literal["totp", "recovery_code", "passkey", "password"]]
    expires_in: int


class SignIn(RootModel[SessionTokens | MfaChallenge]):
    """What a correct password gets: tokens, or a second step (`MfaChallenge`)."""


class Profile(BaseModel):
    user_id: UUID
    name: str
    username: str
    email: str
    locale: Locale
    roles: list[Role]
    status: Literal["pending_activation", "active"]
    registered_at: datetime


class PasswordReset(BaseModel):
    status: Literal["password_changed"] = "password_changed"


class LoggedOut(BaseModel):
    status: Literal["logged_out"] = "logged_out"


class UserCreated(BaseModel):
    user_id: UUID
    username: str
    roles: list[Role]


class RolesGranted(BaseModel):
    user_id: UUID
    username: str
    roles: list[Role]


class _IdentityCommand(Command[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


class _IdentityQuery(Query[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


# ---------------------------------------------------------------- what clients send
# The REST bodies (the gateway serves these very models); each command below
# adds what the gateway knows about the caller (address, verified actor).

ClientAddress = Annotated[
    str | None, Field(default=None, max_length=64, description="For per-address rate limits")
]


class _Body(BaseModel):
    # Unknown fields are an error: a typo in a client should not pass silently.
    model_config = ConfigDict(extra="forbid", frozen=True)


Name = Annotated[str, Field(min_length=1, max_length=200, description="Full name"), SINGLE_LINE]
Username = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Login name (Όνομα σύνδεσης): 3-64 letters (Greek too), digits, '.', '_', '-'",
    ),
    NO_CONTROL_CHARS,
]
Password = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        description="10-128 characters, not a common password; hashed with argon2id",
    ),
    SECRET,
]
# What a new account and a new password must be, as identity's policy checks them
# (domain/policy.py), stated where clients read it (/openapi.json). Identity
# enforces them and answers 422 with its own words (the portal shows them), so
# the schema states them without the body's validation refusing first.
NewUsername = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Login name (Όνομα σύνδεσης): 3-64 letters (Greek too), digits, '.', '_', '-'",
        json_schema_extra={"minLength": 3, "pattern": r"^(?:[^\W_]|[._-])+$"},
    ),
    NO_CONTROL_CHARS,
]
NewPasswordText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        description="10-128 characters, not the username or e-mail, not a common password",
        json_schema_extra={"minLength": 10, "maxLength": 128},
    ),
    SECRET,
]
# Opaque tokens from mails and sessions (URL-safe base64 and dots, never longer).
Token = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.~-]+$")]


class Registration(_Body):
    name: Name
    username: NewUsername
    email: EmailStr
    password: NewPasswordText
    locale: Locale = DEFAULT_LOCALE


class ActivationToken(_Body):
    """The mailed token and the password chosen at registration: the token proves
    the mailbox, the password that whoever registered owns it."""

    token: Token
    password: Password


class CancellationToken(_Body):
    """ "This was not me": the token of the activation mail cancels the registration."""

    token: Token


class EmailRequest(_Body):
    """Resend activation, forgot password, forgot username: an address only."""

    email: EmailStr
    locale: Locale = Field(
        default=DEFAULT_LOCALE,
        description="Language of the answer (el, en); mails use the account's own",
    )


class Credentials(_Body):
    username: Annotated[str, Field(min_length=1, max_length=200), NO_CONTROL_CHARS]
    password: Password


class RefreshToken(_Body):
    refresh_token: Token


class NewPassword(_Body):
    token: Token
    new_password: NewPasswordText


# ---------------------------------------------------------------- commands


class _AddressedCommand(_IdentityCommand[ResultT], Generic[ResultT]):
    """From anyone, rate-limited by the address it comes from."""

    client_address: ClientAddress


class _CallerCommand(_IdentityCommand[ResultT], Generic[ResultT]):
    """By a verified caller, about themselves."""

    actor: Actor


class _CallerQuery(_IdentityQuery[ResultT], Generic[ResultT]):
    """By a verified caller, about themselves."""

    actor: Actor


class RegisterUser(_AddressedCommand[Registered], Registration):
    """Self-registration from the portal or the API (`POST /api/v1/accounts`)."""

    verb: ClassVar[str] = "register"


class ActivateAccount(_IdentityCommand[Activated], ActivationToken):
    verb: ClassVar[str] = "activate"


class CancelRegistration(_IdentityCommand[RegistrationCancelled], CancellationToken):
    verb: ClassVar[str] = "cancel_registration"


class ResendActivation(_AddressedCommand[Accepted], EmailRequest):
    verb: ClassVar[str] = "resend_activation"


class Login(_AddressedCommand[SignIn], Credentials):
    verb: ClassVar[str] = "login"

    # The page's language: an account the organisation's directory makes at this
    # first sign-in speaks it (docs/sso.md). Not part of the REST body.
    locale: Locale | None = None


class RefreshSession(_IdentityCommand[SessionTokens], RefreshToken):
    verb: ClassVar[str] = "refresh"


class Logout(_CallerCommand[LoggedOut]):
    verb: ClassVar[str] = "logout"


class RequestPasswordReset(_AddressedCommand[Accepted], EmailRequest):
    verb: ClassVar[str] = "request_password_reset"


class CompletePasswordReset(_IdentityCommand[PasswordReset], NewPassword):
    verb: ClassVar[str] = "complete_password_reset"


class RequestUsernameReminder(_AddressedCommand[Accepted], EmailRequest):
    verb: ClassVar[str] = "request_username_reminder"


class GetProfile(_CallerQuery[Profile]):
    verb: ClassVar[str] = "me"


class CreateUser(_IdentityCommand[UserCreated]):
    """Operator command (`helpdesk` CLI): create e.g. the first admin, already active."""

    verb: ClassVar[str] = "create_user"

    name: Name
    username: Username
    email: EmailStr
    password: Password
    roles: list[Role] = [Role.CUSTOMER]
    activated: bool = True
    locale: Locale = DEFAULT_LOCALE


class GrantRole(_IdentityCommand[RolesGranted]):
    """Operator command (`helpdesk` CLI): add a role to a user."""

    verb: ClassVar[str] = "grant_role"

    username: Username
    role: Role


# ---------------------------------------------------------------- integration events


class _UserEvent(EventData):
    """Base of the events below; each names itself (the registry skips this one)."""

    producer: ClassVar[str] = "identity"
    aggregate: ClassVar[str] = "user"


# A token for the notifier's mail, sealed to the notifier's public key (libsodium
# sealed box, URL-safe base64): only the notifier's private key opens it.
SealedToken = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The raw token sealed for the notifier alone (docs/security.md)",
    ),
]


# The account owner's name, username or address: sealed under their key (issue 30).
OwnText = Annotated[str, OWN]


class _MailedToOwner(_UserEvent):
    """An event its account's owner is mailed about: who they are and how to write to them.
    Schema +1 (issue 30): name, username and email are sealed under the owner's key."""

    schema_version: ClassVar[int] = 2

    user_id: UUID
    name: OwnText
    username: OwnText
    email: OwnText
    locale: Locale


class UserRegistered(_MailedToOwner):
    """A new account. Self-registered accounts carry the activation token, sealed
    for the notifier (for the activation mail and its "not me" link); accounts an
    operator creates carry none. Schema 2: schema 1 carried the raw token; schema 3 seals the
    personal fields."""

    schema_version: ClassVar[int] = 3

    roles: list[Role]
    registered_at: datetime
    sealed_activation_token: SealedToken | None = None
    activation_expires_at: datetime | None = None
    # "local" (a password here), or the organisation's "ldap" / "oidc" / "saml": such
    # an account is active at once and gets no activation mail (docs/sso.md).
    source: AccountSource = "local"

    @property
    def awaits_activation(self) -> bool:
        return self.sealed_activation_token is not None


class ActivationResent(_MailedToOwner):
    """A fresh activation token for a pending account (the previous one is void),
    sealed for the notifier. Schema 2: schema 1 carried the raw token; schema 3
    seals the personal fields."""

    schema_version: ClassVar[int] = 3

    # Always set by identity; optional only so that a schema-1 event still on the
    # stream parses (its raw token: `raw_token_v1`).
    sealed_activation_token: SealedToken | None = None
    activation_expires_at: datetime


class UserActivated(_UserEvent):
    schema_version: ClassVar[int] = 2  # the username sealed

    user_id: UUID
    username: OwnText
    activated_at: datetime


class RecoveryRequested(_UserEvent):
    """`kind=password`: carries the reset token, sealed for the notifier;
    `kind=username`: the username. Schema 2: schema 1 carried the raw token;
    schema 3 seals the personal fields."""

    schema_version: ClassVar[int] = 3

    user_id: UUID
    kind: Literal["password", "username"]
    name: OwnText
    username: OwnText
    email: OwnText
    locale: Locale
    sealed_reset_token: SealedToken | None = None
    expires_at: datetime | None = None


class PasswordChanged(_MailedToOwner):
    changed_at: datetime


class RegistrationAttemptedForExistingEmail(_MailedToOwner):
    """Someone tried to register with this address; its owner is told by mail."""

    attempted_at: datetime


class UserRegistrationCancelled(_UserEvent):
    """The owner of the address said "this was not me" in the activation mail: the
    pending account is gone; its username and address are free again."""

    schema_version: ClassVar[int] = 2  # the username sealed

    user_id: UUID
    username: OwnText
    cancelled_at: datetime


class RolesChanged(_UserEvent):
    user_id: UUID
    roles: list[Role]
    reason: str | None = None  # "directory_sync", "sign_in"; None: an admin or the operator


# ---------------------------------------------------------------- schema 1, still on a stream
# Before tokens were sealed (issue 10), UserRegistered, ActivationResent and RecoveryRequested
# (schema 1) carried the raw token in `activation_token` / `reset_token`. Events of
# schema 1 published before the upgrade stay on the IDENTITY stream until its max_age
# (docs/operations.md) removes them; consumers read their other fields with the schema-2
# classes (unknown fields are ignored) and the raw token with this function. Drop it
# once every stream that could hold one has aged past the upgrade (docs/security.md).
RAW_TOKEN_FIELDS_V1 = ("activation_token", "reset_token")


def raw_token_v1(envelope: EventEnvelope) -> str | None:
    """The raw token a schema-1 identity event carried, or None (schema 2 carries none)."""
    if envelope.producer != SERVICE or envelope.schema_version != 1:
        return None
    for name in RAW_TOKEN_FIELDS_V1:
        value = envelope.data.get(name)
        if isinstance(value, str) and value:
            return value
    return None

"""The `User` aggregate, folded from its own stream `user-<id>`.

Command methods decide and return the events to record; `apply` is the only
place state changes, so loading a user and recording a decision run the same
code. Secrets appear here only as hashes: the caller generates raw tokens and
hashes passwords, the domain never sees plaintext.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from helpdesk.contracts.actors import Role
from helpdesk.contracts.personal import OWN, Personal
from helpdesk.identity.domain.errors import (
    AlreadyActive,
    AlreadyEnrolled,
    AlreadyLinked,
    InvalidCode,
    InvalidToken,
    TokenExpired,
    UnknownUser,
)

Status = Literal["pending_activation", "active", "cancelled", "deactivated", "erased"]
Source = Literal["local", "ldap", "oidc", "saml"]
Language = Literal["el", "en"]


# ---------------------------------------------------------------- stored events


class UserEvent(BaseModel):
    """An event of the user stream as stored in the event store (never published as is)."""

    model_config = ConfigDict(frozen=True)
    types: ClassVar[dict[str, type[UserEvent]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        UserEvent.types[cls.__name__] = cls


# The account's owner's name, username and address (and their folded keys): sealed
# in the store under the owner's key (contracts/personal.py; issue 30).
OwnText = Annotated[str, OWN]


class Registered(UserEvent):
    user_id: UUID
    name: OwnText
    username: OwnText
    username_key: OwnText
    email: OwnText
    email_key: OwnText
    locale: str
    roles: list[Role]
    password_hash: str  # empty for an account of the organisation's (no local password)
    at: datetime
    # Where the account comes from: "local" (a password here), or the organisation's
    # "ldap" / "oidc" / "saml", then with the person's lasting id there.
    source: Source = "local"
    external_id: str | None = None


class ActivationTokenIssued(UserEvent):
    token_hash: str
    expires_at: datetime


class Activated(UserEvent):
    at: datetime


class PasswordResetRequested(UserEvent):
    token_hash: str
    expires_at: datetime


class PasswordChanged(UserEvent):
    password_hash: str
    at: datetime


class PasswordRehashed(UserEvent):
    """Same password, hash upgraded to the current argon2 parameters on login."""

    password_hash: str


class UsernameReminderRequested(UserEvent):
    at: datetime


class RegistrationAttempted(UserEvent):
    """Someone tried to register this account's e-mail address again."""

    at: datetime


class RolesGranted(UserEvent):
    roles: list[Role]
    reason: str | None = None  # e.g. "directory_sync"; None: an admin or the operator


class RegistrationCancelled(UserEvent):
    """The mailbox owner said "this was not me": the pending account is gone and
    its username and address are free again."""

    at: datetime


class Deactivated(UserEvent):
    """An admin (or the operator, `by` None) ended the account's access."""

    at: datetime
    by: UUID | None = None
    reason: str | None = None  # e.g. "removed_from_directory"; None: an admin's decision


class Reactivated(UserEvent):
    at: datetime
    by: UUID | None = None
    reason: str | None = None


class ExternalIdentityLinked(UserEvent):
    """A local account is now signed into through the organisation's `source`: its
    owner proved the local password once (docs/sso.md, "Accounts from the organisation")."""

    source: Source
    external_id: str
    at: datetime


class ProfileSynced(UserEvent):
    """The name or e-mail address changed as the organisation's directory says."""

    name: OwnText
    email: OwnText
    email_key: OwnText
    reason: str
    at: datetime


class TotpEnrolled(UserEvent):
    """TOTP is on; its seed sealed under identity's own key (never in the clear)."""

    sealed_secret: str
    at: datetime


class TotpStepUsed(UserEvent):
    """A TOTP code of this time step was accepted: no code of it or before counts again."""

    step: int


class RecoveryCodesIssued(UserEvent):
    """Ten fresh one-time codes (their keyed hashes); the previous ones are void."""

    code_hashes: list[str]


class RecoveryCodeUsed(UserEvent):
    code_hash: str
    at: datetime


class TotpRemoved(UserEvent):
    at: datetime


class PasskeyAdded(UserEvent):
    """A WebAuthn credential (base64url id and COSE public key), verified at its
    registration; a second factor, and a sign-in of its own."""

    credential_id: str
    public_key: str
    sign_count: int
    at: datetime


class PasskeyUsed(UserEvent):
    """An assertion of this credential was accepted; its signature counter now."""

    credential_id: str
    sign_count: int


class PasskeysRemoved(UserEvent):
    at: datetime


class ErasureRequested(UserEvent):
    """The person asked to be erased; an admin decides (docs/privacy.md)."""

    at: datetime
    note: Annotated[str | None, Personal("user_id")] = None


ErasureKind = Literal["request", "admin", "retention"]


class Erased(UserEvent):
    """The person's key is destroyed with this event: everything sealed under it
    reads as erased from now on, here and in every other service. `reason` is the
    admin's record of why (it names nobody); `kind` says who asked."""

    at: datetime
    by: UUID | None = None  # the admin; None for the operator and retention
    kind: ErasureKind
    reason: str


@dataclass
class Passkey:
    public_key: str
    sign_count: int
    added_at: datetime


# ---------------------------------------------------------------- aggregate


@dataclass
class User:
    user_id: UUID
    version: int = 0
    name: str = ""
    username: str = ""
    email: str = ""
    locale: str = "el"
    roles: list[Role] = field(default_factory=list)
    status: Status = "pending_activation"
    password_hash: str = ""
    registered_at: datetime | None = None
    activation_token_hash: str | None = None
    activation_expires_at: datetime | None = None
    # Open password-reset tokens: hash -> expiry. Used or superseded ones leave.
    reset_tokens: dict[str, datetime] = field(default_factory=dict)
    # Raised by every password change: sessions and access tokens of an older
    # version are void (checked at refresh, and by the gateway).
    credentials_version: int = 0
    # Second factors (local accounts): the sealed TOTP seed and when it came,
    # the last time step accepted (no replay), hashes of unused recovery codes.
    totp_sealed_secret: str | None = None
    totp_added_at: datetime | None = None
    totp_last_step: int = -1
    recovery_code_hashes: list[str] = field(default_factory=list)
    passkeys: dict[str, Passkey] = field(default_factory=dict)  # by credential id
    source: Source = "local"
    external_id: str | None = None
    # Why it was last deactivated (None: an admin); a directory sync reactivates
    # only what a directory sync deactivated.
    deactivation_reason: str | None = None
    erasure_requested_at: datetime | None = None
    erased_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.version > 0

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def language(self) -> Language:
        """The locale mails and profiles use (Greek unless English was chosen)."""
        return "en" if self.locale == "en" else "el"

    @property
    def factors(self) -> dict[str, datetime]:
        """The second factors the account has, with when each was added."""
        found = {"totp": self.totp_added_at} if self.totp_added_at is not None else {}
        if self.passkeys:
            found["passkey"] = min(p.added_at for p in self.passkeys.values())
        return found

    def needs_second_factor(self, required_roles: frozenset[str]) -> bool:
        """Whether this account may not sign in on a password alone (docs/sso.md).
        A role forces a second factor on local accounts only: the organisation's
        own sign-in (and its MFA policy) guards the others."""
        forced = self.source == "local" and any(role in required_roles for role in self.roles)
        return bool(self.factors) or forced

    @classmethod
    def fold(cls, user_id: UUID, events: list[UserEvent]) -> User:
        user = cls(user_id=user_id)
        for event in events:
            user.apply(event)
        return user

    def apply(self, event: UserEvent) -> None:
        self.version += 1
        match event:
            case Registered():
                self.name, self.username, self.email = event.name, event.username, event.email
                self.locale, self.roles = event.locale, list(event.roles)
                self.password_hash, self.registered_at = event.password_hash, event.at
                self.source, self.external_id = event.source, event.external_id
            case ActivationTokenIssued():
                self.activation_token_hash = event.token_hash
                self.activation_expires_at = event.expires_at
            case Activated():
                self.status = "active"
                self.activation_token_hash = None
                self.activation_expires_at = None
            case PasswordResetRequested():
                self.reset_tokens[event.token_hash] = event.expires_at
            case PasswordChanged():
                self.password_hash = event.password_hash
                self.reset_tokens.clear()  # every other reset token is void now
                self.credentials_version += 1
            case PasswordRehashed():
                self.password_hash = event.password_hash
            case RolesGranted():
                self.roles = list(event.roles)
            case RegistrationCancelled():
                self.status = "cancelled"
                self.activation_token_hash = None
                self.activation_expires_at = None
            case Deactivated():
                self.status, self.deactivation_reason = "deactivated", event.reason
            case Reactivated():
                self.status, self.deactivation_reason = "active", None
            case ExternalIdentityLinked():
                self.source, self.external_id = event.source, event.external_id
            case ProfileSynced():
                self.name, self.email = event.name, event.email
            case TotpEnrolled():
                self.totp_sealed_secret, self.totp_added_at = event.sealed_secret, event.at
                self.totp_last_step = -1
            case TotpStepUsed():
                self.totp_last_step = event.step
            case RecoveryCodesIssued():
                self.recovery_code_hashes = list(event.code_hashes)
            case RecoveryCodeUsed():
                self.recovery_code_hashes.remove(event.code_hash)
            case TotpRemoved():
                self.totp_sealed_secret = self.totp_added_at = None
                self.recovery_code_hashes = []
            case PasskeyAdded():
                self.passkeys[event.credential_id] = Passkey(
                    event.public_key, event.sign_count, event.at
                )
            case PasskeyUsed():
                self.passkeys[event.credential_id].sign_count = event.sign_count
            case PasskeysRemoved():
                self.passkeys = {}
            case ErasureRequested():
                self.erasure_requested_at = event.at
            case Erased():
                # Nothing of the person stays in memory either; the stream's older
                # events read as erased from now on.
                self.status, self.erased_at, self.erasure_requested_at = "erased", event.at, None
                self.name = self.username = self.email = self.password_hash = ""
                self.activation_token_hash = self.activation_expires_at = None
                self.reset_tokens.clear()
                self.totp_sealed_secret = self.totp_added_at = None
                self.recovery_code_hashes, self.passkeys, self.external_id = [], {}, None
            case UsernameReminderRequested() | RegistrationAttempted():
                pass

    # ---- decisions

    @staticmethod
    def register(
        *,
        user_id: UUID,
        name: str,
        username: str,
        username_key: str,
        email: str,
        email_key: str,
        locale: str,
        roles: list[Role],
        password_hash: str,
        now: datetime,
        activation: tuple[str, datetime] | None,
        source: Source = "local",
        external_id: str | None = None,
    ) -> list[UserEvent]:
        """A new account: pending with an activation token, or active at once (the
        operator; the organisation's, whose sign-in has proved the person)."""
        events: list[UserEvent] = [
            Registered(
                user_id=user_id,
                name=name,
                username=username,
                username_key=username_key,
                email=email,
                email_key=email_key,
                locale=locale,
                roles=roles,
                password_hash=password_hash,
                at=now,
                source=source,
                external_id=external_id,
            )
        ]
        if activation is None:
            events.append(Activated(at=now))
        else:
            token_hash, expires_at = activation
            events.append(ActivationTokenIssued(token_hash=token_hash, expires_at=expires_at))
        return events

    def activate(self, token_hash: str, now: datetime) -> list[UserEvent]:
        """Activate with the mailed token; nothing to do (a friendly success) if already active.

        The caller has checked the password chosen at registration: the token
        proves the mailbox, the password proves the mailbox's owner registered.
        """
        if self.is_active:
            return []
        self._check_activation_token(token_hash, now)
        return [Activated(at=now)]

    def cancel_registration(self, token_hash: str, now: datetime) -> list[UserEvent]:
        """ "This was not me": the mailbox owner ends a registration they never made."""
        if self.is_active:
            raise AlreadyActive("the account is already active; it cannot be cancelled")
        self._check_activation_token(token_hash, now)
        return [RegistrationCancelled(at=now)]

    def _check_activation_token(self, token_hash: str, now: datetime) -> None:
        if token_hash != self.activation_token_hash or self.activation_expires_at is None:
            raise InvalidToken("this activation link is not valid")
        if now >= self.activation_expires_at:
            raise TokenExpired("this activation link has expired; ask for a new one")

    def reissue_activation(self, token_hash: str, expires_at: datetime) -> list[UserEvent]:
        """A fresh activation token; the previous one stops working."""
        if self.is_active:
            raise AlreadyActive("the account is already active")
        return [ActivationTokenIssued(token_hash=token_hash, expires_at=expires_at)]

    def request_password_reset(self, token_hash: str, expires_at: datetime) -> list[UserEvent]:
        return [PasswordResetRequested(token_hash=token_hash, expires_at=expires_at)]

    def complete_password_reset(
        self, token_hash: str, new_password_hash: str, now: datetime
    ) -> list[UserEvent]:
        """Set the new password with a single-use reset token.

        The mailed token proves the address, so a still pending account is
        activated as well.
        """
        expires_at = self.reset_tokens.get(token_hash)
        if expires_at is None:
            raise InvalidToken("this password reset link is not valid")
        if now >= expires_at:
            raise TokenExpired("this password reset link has expired; ask for a new one")
        events: list[UserEvent] = [PasswordChanged(password_hash=new_password_hash, at=now)]
        if not self.is_active:
            events.append(Activated(at=now))
        return events

    def rehash_password(self, new_hash: str) -> list[UserEvent]:
        return [PasswordRehashed(password_hash=new_hash)]

    def remind_username(self, now: datetime) -> list[UserEvent]:
        return [UsernameReminderRequested(at=now)]

    def note_registration_attempt(self, now: datetime) -> list[UserEvent]:
        return [RegistrationAttempted(at=now)]

    def set_roles(self, roles: list[Role], reason: str | None = None) -> list[UserEvent]:
        """Exactly these roles (grant and revoke at once); nothing if unchanged."""
        wanted = list(dict.fromkeys(roles))
        if not wanted:
            raise ValueError("a user keeps at least one role")
        if sorted(wanted) == sorted(self.roles):
            return []
        return [RolesGranted(roles=wanted, reason=reason)]

    def deactivate(
        self, by: UUID | None, now: datetime, reason: str | None = None
    ) -> list[UserEvent]:
        """No more logins; the caller ends the sessions. Nothing if already deactivated
        (or erased: an erased account never signs in again)."""
        if self.status in ("deactivated", "erased"):
            return []
        return [Deactivated(at=now, by=by, reason=reason)]

    def request_erasure(self, now: datetime, note: str | None) -> list[UserEvent]:
        """Ask an admin to erase this account (again: the newer request stands)."""
        if self.status in ("erased", "cancelled"):
            raise UnknownUser(str(self.user_id))
        return [ErasureRequested(at=now, note=note)]

    def erase(
        self, by: UUID | None, now: datetime, reason: str, kind: ErasureKind | None = None
    ) -> list[UserEvent]:
        """Forget the person: nothing if already erased (the first erasure stands).
        `kind` defaults to "request" when they had asked, else "admin"."""
        if self.status == "erased":
            return []
        if not self.exists or self.status == "cancelled":
            raise UnknownUser(str(self.user_id))
        kind = kind or ("request" if self.erasure_requested_at is not None else "admin")
        return [Erased(at=now, by=by, kind=kind, reason=reason)]

    def reactivate(
        self, by: UUID | None, now: datetime, reason: str | None = None
    ) -> list[UserEvent]:
        """Back to active (a pending account stays pending: it never was deactivated)."""
        if self.status != "deactivated":
            return []
        return [Reactivated(at=now, by=by, reason=reason)]

    # ---- the organisation's accounts

    def link(self, source: Source, external_id: str, now: datetime) -> list[UserEvent]:
        """Sign in through the organisation from now on. The caller has checked the
        local password: a claim alone never takes an account over."""
        if (self.source, self.external_id) == (source, external_id):
            return []
        if self.source != "local":
            raise AlreadyLinked("this account already comes from the organisation")
        return [ExternalIdentityLinked(source=source, external_id=external_id, at=now)]

    def sync_profile(
        self, name: str, email: str, email_key: str, reason: str, now: datetime
    ) -> list[UserEvent]:
        """The name and address the organisation has for the person; nothing if the same."""
        if (name, email) == (self.name, self.email):
            return []
        return [ProfileSynced(name=name, email=email, email_key=email_key, reason=reason, at=now)]

    def grant_role(self, role: Role) -> list[UserEvent]:
        if role in self.roles:
            return []
        return [RolesGranted(roles=[*self.roles, role])]

    # ---- second factors

    def enrol_totp(
        self, sealed_secret: str, first_step: int, recovery_code_hashes: list[str], now: datetime
    ) -> list[UserEvent]:
        """TOTP on, with fresh recovery codes. The caller has matched a first code to
        `first_step`, which is used up with it."""
        if self.totp_added_at is not None:
            raise AlreadyEnrolled("this account already has an authenticator app")
        return [
            TotpEnrolled(sealed_secret=sealed_secret, at=now),
            TotpStepUsed(step=first_step),
            RecoveryCodesIssued(code_hashes=recovery_code_hashes),
        ]

    def use_totp_step(self, step: int) -> list[UserEvent]:
        """Accept a code the caller matched to `step`; a code of a step already used
        (or older) is a replay."""
        if self.totp_added_at is None or step <= self.totp_last_step:
            raise InvalidCode()
        return [TotpStepUsed(step=step)]

    def use_recovery_code(self, code_hash: str, now: datetime) -> list[UserEvent]:
        if code_hash not in self.recovery_code_hashes:
            raise InvalidCode()
        return [RecoveryCodeUsed(code_hash=code_hash, at=now)]

    def remove_totp(self, now: datetime) -> list[UserEvent]:
        """TOTP off, and its recovery codes void. Nothing if there was none."""
        if self.totp_added_at is None:
            return []
        return [TotpRemoved(at=now)]

    # ---- passkeys

    def add_passkey(
        self, credential_id: str, public_key: str, sign_count: int, now: datetime
    ) -> list[UserEvent]:
        if credential_id in self.passkeys:
            raise AlreadyEnrolled("this passkey is already added")
        return [
            PasskeyAdded(
                credential_id=credential_id, public_key=public_key, sign_count=sign_count, at=now
            )
        ]

    def use_passkey(self, credential_id: str, sign_count: int) -> list[UserEvent]:
        """Accept an assertion the caller verified with this credential's key. A
        counter that does not grow (when the authenticator keeps one) means a
        cloned authenticator: refused."""
        known = self.passkeys.get(credential_id)
        if known is None:
            raise InvalidCode()
        if (sign_count or known.sign_count) and sign_count <= known.sign_count:
            raise InvalidCode()
        return [PasskeyUsed(credential_id=credential_id, sign_count=sign_count)]

    def remove_passkeys(self, now: datetime) -> list[UserEvent]:
        return [PasskeysRemoved(at=now)] if self.passkeys else []


def user_stream(user_id: UUID) -> str:
    return f"user-{user_id}"


def stream_owner(stream_id: str) -> UUID | None:
    """Whose personal values a stream holds: the user's, for `user-<id>`."""
    return UUID(stream_id.removeprefix("user-")) if stream_id.startswith("user-") else None


def user_event(event_type: str, data: dict[str, Any]) -> UserEvent:
    return UserEvent.types[event_type].model_validate(data)

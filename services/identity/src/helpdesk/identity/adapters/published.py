"""The one place where identity's private events become public contract events.

The event store keeps `helpdesk.identity.domain` events (free to change);
consumers see only `helpdesk.contracts.identity` events (a published schema).
A user's new events are translated here, with the user as they stand after
them and the token of the mail, if any — sealed for the notifier by the use
case, so no raw token reaches the outbox or the stream (docs/security.md,
"Where secrets live"). Session events publish nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from helpdesk.contracts import factors, organisation, people, privacy
from helpdesk.contracts import identity as contract
from helpdesk.contracts.envelope import EventData
from helpdesk.identity.domain.user import (
    Activated,
    ActivationTokenIssued,
    Deactivated,
    Erased,
    PasskeyAdded,
    PasskeysRemoved,
    PasswordChanged,
    PasswordResetRequested,
    ProfileSynced,
    Reactivated,
    Registered,
    RegistrationAttempted,
    RegistrationCancelled,
    RolesGranted,
    TotpEnrolled,
    TotpRemoved,
    User,
    UserEvent,
    UsernameReminderRequested,
)


def integration_events(
    user: User,
    events: Sequence[UserEvent],
    sealed_token: str | None = None,
    destroyed_keys: Sequence[UUID] = (),
) -> list[EventData]:
    """What `events` (already applied to `user`) tell the other services, in order.
    `destroyed_keys`: the person's keys an `Erased` among them destroyed."""
    issued = next((e for e in events if isinstance(e, ActivationTokenIssued)), None)
    registering = any(isinstance(e, Registered) for e in events)
    public: list[EventData] = []
    for event in events:
        match event:
            case Registered():
                # The activation link of a self-registered account travels with it.
                public.append(
                    contract.UserRegistered(
                        **_person(user),
                        roles=user.roles,
                        registered_at=event.at,
                        sealed_activation_token=sealed_token if issued else None,
                        activation_expires_at=issued.expires_at if issued else None,
                        source=event.source,
                    )
                )
            case ActivationTokenIssued() if not registering:
                public.append(
                    contract.ActivationResent(
                        **_person(user),
                        sealed_activation_token=_required(sealed_token, event),
                        activation_expires_at=event.expires_at,
                    )
                )
            case Activated():
                public.append(
                    contract.UserActivated(
                        user_id=user.user_id, username=user.username, activated_at=event.at
                    )
                )
            case PasswordResetRequested():
                public.append(
                    contract.RecoveryRequested(
                        **_person(user),
                        kind="password",
                        sealed_reset_token=_required(sealed_token, event),
                        expires_at=event.expires_at,
                    )
                )
            case UsernameReminderRequested():
                public.append(contract.RecoveryRequested(**_person(user), kind="username"))
            case PasswordChanged():
                public.append(contract.PasswordChanged(**_person(user), changed_at=event.at))
            case RegistrationAttempted():
                public.append(
                    contract.RegistrationAttemptedForExistingEmail(
                        **_person(user), attempted_at=event.at
                    )
                )
            case RegistrationCancelled():
                public.append(
                    contract.UserRegistrationCancelled(
                        user_id=user.user_id, username=user.username, cancelled_at=event.at
                    )
                )
            case RolesGranted():
                public.append(
                    contract.RolesChanged(
                        user_id=user.user_id, roles=list(event.roles), reason=event.reason
                    )
                )
            case Deactivated():
                public.append(
                    people.UserDeactivated(**_access_change(user, event), deactivated_at=event.at)
                )
            case Reactivated():
                public.append(
                    people.UserReactivated(**_access_change(user, event), reactivated_at=event.at)
                )
            case ProfileSynced():
                public.append(
                    organisation.UserProfileChanged(
                        **_person(user),
                        source=user.source,
                        reason=event.reason,
                        changed_at=event.at,
                    )
                )
            case TotpEnrolled() | PasskeyAdded():
                public.append(
                    factors.SecondFactorAdded(
                        **_person(user), factor=_factor(event), added_at=event.at
                    )
                )
            case TotpRemoved() | PasskeysRemoved():
                public.append(
                    factors.SecondFactorRemoved(
                        **_person(user), factor=_factor(event), removed_at=event.at
                    )
                )
            case Erased():
                public.append(
                    privacy.PersonalDataErased(
                        user_id=user.user_id,
                        erased_at=event.at,
                        reason=event.kind,
                        by=event.by,
                        key_ids=list(destroyed_keys),
                    )
                )
            case _:
                pass  # a rehash, the token issued with a registration: nothing to tell
    return public


def _person(user: User) -> dict[str, Any]:
    """Who an event that is mailed to its owner is about."""
    return {
        "user_id": user.user_id,
        "name": user.name,
        "username": user.username,
        "email": user.email,
        "locale": user.language,
    }


def _access_change(user: User, event: Deactivated | Reactivated) -> dict[str, Any]:
    """Whose access changed, by whom and why (the same for its end and its return)."""
    return {
        "user_id": user.user_id,
        "username": user.username,
        "by": event.by,
        "reason": event.reason,
    }


def _factor(event: UserEvent) -> contract.SecondFactorKind:
    return "totp" if isinstance(event, TotpEnrolled | TotpRemoved) else "passkey"


def _required(sealed_token: str | None, event: UserEvent) -> str:
    if sealed_token is None:
        raise ValueError(f"{type(event).__name__} is mailed: save it with its sealed token")
    return sealed_token

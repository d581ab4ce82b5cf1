"""Mails for the identity events: activation, password reset, username reminder,
"your password was changed", "someone registered with your address" and "a
second factor was added / removed", in
the user's language (`templates/<el|en>/<name>.*`); and the erasure of a person
(`PersonalDataErased`: their mails and deliveries scrubbed).

Activation and reset tokens arrive sealed for the notifier (schema 2) and are
opened here, with the notifier's private key, only to compose the mail's
links; the composed mail waits in the mail queue until it is sent, then its
bytes are forgotten (`adapters/queue.py`). Schema-1 events, published before
tokens were sealed and still on the stream, carry the raw token and are mailed
too (`contract.raw_token_v1`), so an upgrade loses no mail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from helpdesk.contracts import factors
from helpdesk.contracts import identity as contract
from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.notifier.domain.texts import hours_between, local_time
from helpdesk.notifier.handlers.deps import Deps
from helpdesk.servicekit.erasure import forget_keys, wait_for_key_caches
from helpdesk.servicekit.events import EventHandlers


class _User(Protocol):
    """What every identity event that mails its user names of them."""

    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def locale(self) -> str: ...


async def _mail_user(deps: Deps, event: _User, template: str, context: dict[str, Any]) -> None:
    if not event.email:
        return  # an erased person's event opens with an empty address: nobody to mail
    await deps.outbox.mail(
        OutgoingMail(
            to=event.email,
            to_name=event.name,
            template=template,
            locale=event.locale,
            context=context,
        )
    )


def _token(deps: Deps, sealed: str | None) -> str | None:
    """The raw token for the mail's link: opened (schema 2), or as a schema-1
    event carried it. `Unsealable` if no key of ours opens it."""
    if sealed is not None:
        return deps.opener.open(sealed)
    return contract.raw_token_v1(deps.received)


async def _activation(
    event: contract.UserRegistered | contract.ActivationResent,
    deps: Deps,
    token: str,
    expires_at: datetime,
) -> None:
    locale = event.locale
    await _mail_user(
        deps,
        event,
        "activation",
        {
            "name": event.name,
            "username": event.username,
            "link": deps.link(locale, "activate?" + urlencode({"token": token})),
            # "This was not me": cancels the registration (docs/accounts.md).
            "not_me_link": deps.link(locale, "activate/cancel?" + urlencode({"token": token})),
            "valid_hours": hours_between(deps.occurred_at, expires_at),
        },
    )


async def on_registered(event: contract.UserRegistered, deps: Deps) -> None:
    token = _token(deps, event.sealed_activation_token)
    if token is None or event.activation_expires_at is None:
        return  # created active by an operator: nothing to activate
    await _activation(event, deps, token, event.activation_expires_at)


async def on_activation_resent(event: contract.ActivationResent, deps: Deps) -> None:
    token = _token(deps, event.sealed_activation_token)
    if token is None:
        raise ValueError("an ActivationResent without its token")
    await _activation(event, deps, token, event.activation_expires_at)


async def on_recovery_requested(event: contract.RecoveryRequested, deps: Deps) -> None:
    context: dict[str, object] = {"name": event.name, "username": event.username}
    if event.kind == "password":
        token = _token(deps, event.sealed_reset_token)
        if token is None or event.expires_at is None:
            raise ValueError("a password RecoveryRequested without its token")
        template = "password_reset"
        context["link"] = deps.link(event.locale, "reset-password?" + urlencode({"token": token}))
        context["valid_minutes"] = max(
            1, round((event.expires_at - deps.occurred_at).total_seconds() / 60)
        )
    else:
        template = "username_reminder"
        context["link"] = deps.link(event.locale, "login")
    await _mail_user(deps, event, template, context)


async def on_password_changed(event: contract.PasswordChanged, deps: Deps) -> None:
    await _mail_user(
        deps,
        event,
        "password_changed",
        {
            "name": event.name,
            "username": event.username,
            "changed_at": local_time(event.changed_at),  # Athens, as every mail
            "link": deps.link(event.locale, "forgot-password"),
        },
    )


async def on_existing_email(
    event: contract.RegistrationAttemptedForExistingEmail, deps: Deps
) -> None:
    await _mail_user(
        deps,
        event,
        "registration_existing_email",
        {
            "name": event.name,
            "username": event.username,
            "login_link": deps.link(event.locale, "login"),
            "reset_link": deps.link(event.locale, "forgot-password"),
        },
    )


# The factor's name in the mail, in the user's language.
FACTOR_NAMES = {
    "el": {"totp": "εφαρμογή ελέγχου ταυτότητας (TOTP)", "passkey": "κλειδί πρόσβασης (passkey)"},
    "en": {"totp": "authenticator app (TOTP)", "passkey": "passkey"},
}


async def _factor_mail(
    event: factors.SecondFactorAdded | factors.SecondFactorRemoved, deps: Deps, at: datetime
) -> None:
    await _mail_user(
        deps,
        event,
        "second_factor_changed",
        {
            "name": event.name,
            "username": event.username,
            "added": isinstance(event, factors.SecondFactorAdded),
            "factor": FACTOR_NAMES.get(event.locale, FACTOR_NAMES["en"])[event.factor],
            "at": local_time(at),
            "link": deps.link(event.locale, "forgot-password"),
        },
    )


async def on_factor_added(event: factors.SecondFactorAdded, deps: Deps) -> None:
    await _factor_mail(event, deps, event.added_at)


async def on_factor_removed(event: factors.SecondFactorRemoved, deps: Deps) -> None:
    await _factor_mail(event, deps, event.removed_at)


async def on_erased(event: PersonalDataErased, deps: Deps) -> None:
    """Scrub what the notifier holds of the person (docs/privacy.md, "Erasure in the
    notifier and the mailgate"): first forget their keys here, then wait until no
    replica can still open their data (`NotYet`: the kit hands the event back
    later), so that what an in-flight handler wrote from it is scrubbed too."""
    if deps.erasure is None:
        raise RuntimeError("the notifier's erasure is not bound")
    forget_keys(event.user_id)
    wait_for_key_caches(event.erased_at, deps.erasure.clock.now(), deps.erasure.key_cache_seconds)
    await deps.erasure.store.scrub(event.user_id)


IDENTITY_HANDLERS: EventHandlers[Deps] = {
    contract.UserRegistered: on_registered,
    contract.ActivationResent: on_activation_resent,
    contract.RecoveryRequested: on_recovery_requested,
    contract.PasswordChanged: on_password_changed,
    contract.RegistrationAttemptedForExistingEmail: on_existing_email,
    factors.SecondFactorAdded: on_factor_added,
    factors.SecondFactorRemoved: on_factor_removed,
    PersonalDataErased: on_erased,
}

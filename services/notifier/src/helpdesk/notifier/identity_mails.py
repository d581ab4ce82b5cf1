"""Mails for the identity events: activation, password reset, username reminder,
"your password was changed" and "someone registered with your address".

One durable consumer reads every `identity.events.user.*` event; events that
need no mail (UserActivated, RolesChanged) are simply recorded as handled.
Templates: `templates/<el|en>/<name>.*`, chosen by the user's locale.

Activation and reset tokens arrive sealed for the notifier (schema 2) and are
opened here, with the notifier's private key, only to compose the mail's
links; the composed mail waits in the mail queue until it is sent, then its
bytes are forgotten (`queue.py`). Schema-1 events, published before tokens
were sealed and still on the stream, carry the raw token and are mailed too
(`contract.raw_token_v1`), so an upgrade loses no mail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import urlencode

from helpdesk.contracts import identity as contract
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.subjects import events_of
from helpdesk.notifier.compose import local_time
from helpdesk.notifier.mailer import CONSUMER_WORKERS, Mailer
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.sealing import Opener

CONSUMER_NAME = "notifier-identity-mails"


def hours_between(start: datetime, end: datetime) -> int:
    return max(1, round((end - start).total_seconds() / 3600))


class IdentityMails:
    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.opener = Opener(mailer.settings.seal_private_keys())
        self.handlers: dict[str, Callable[[Connection, EventEnvelope], Awaitable[None]]] = {
            contract.UserRegistered.event_type: self.registered,
            contract.ActivationResent.event_type: self.activation_resent,
            contract.RecoveryRequested.event_type: self.recovery_requested,
            contract.PasswordChanged.event_type: self.password_changed,
            contract.RegistrationAttemptedForExistingEmail.event_type: self.existing_email,
        }

    async def handle(self, conn: Connection, envelope: EventEnvelope) -> None:
        """Identity mails: activation, recovery, password changed, existing address."""
        handler = self.handlers.get(envelope.event_type)
        if handler is not None:
            await handler(conn, envelope)

    def token(self, envelope: EventEnvelope, sealed: str | None) -> str | None:
        """The raw token for the mail's link: opened (schema 2), or as a schema-1
        event carried it. `Unsealable` if no key of ours opens it."""
        if sealed is not None:
            return self.opener.open(sealed)
        return contract.raw_token_v1(envelope)

    async def _activation(
        self,
        conn: Connection,
        envelope: EventEnvelope,
        *,
        name: str,
        username: str,
        email: str,
        locale: str,
        token: str,
        expires_at: datetime,
    ) -> None:
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=email,
            to_name=name,
            template="activation",
            locale=locale,
            context={
                "name": name,
                "username": username,
                "link": self.mailer.link(locale, "activate?" + urlencode({"token": token})),
                # "This was not me": cancels the registration (docs/accounts.md).
                "not_me_link": self.mailer.link(
                    locale, "activate/cancel?" + urlencode({"token": token})
                ),
                "valid_hours": hours_between(envelope.occurred_at, expires_at),
            },
        )

    async def registered(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(contract.UserRegistered)
        token = self.token(envelope, event.sealed_activation_token)
        if token is None or event.activation_expires_at is None:
            return  # created active by an operator: nothing to activate
        await self._activation(
            conn,
            envelope,
            name=event.name,
            username=event.username,
            email=event.email,
            locale=event.locale,
            token=token,
            expires_at=event.activation_expires_at,
        )

    async def activation_resent(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(contract.ActivationResent)
        token = self.token(envelope, event.sealed_activation_token)
        if token is None:
            raise ValueError("an ActivationResent without its token")
        await self._activation(
            conn,
            envelope,
            name=event.name,
            username=event.username,
            email=event.email,
            locale=event.locale,
            token=token,
            expires_at=event.activation_expires_at,
        )

    async def recovery_requested(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(contract.RecoveryRequested)
        context: dict[str, object] = {"name": event.name, "username": event.username}
        if event.kind == "password":
            token = self.token(envelope, event.sealed_reset_token)
            if token is None or event.expires_at is None:
                raise ValueError("a password RecoveryRequested without its token")
            template = "password_reset"
            context["link"] = self.mailer.link(
                event.locale, "reset-password?" + urlencode({"token": token})
            )
            context["valid_minutes"] = max(
                1, round((event.expires_at - envelope.occurred_at).total_seconds() / 60)
            )
        else:
            template = "username_reminder"
            context["link"] = self.mailer.link(event.locale, "login")
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=event.email,
            to_name=event.name,
            template=template,
            locale=event.locale,
            context=context,
        )

    async def password_changed(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(contract.PasswordChanged)
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=event.email,
            to_name=event.name,
            template="password_changed",
            locale=event.locale,
            context={
                "name": event.name,
                "username": event.username,
                "changed_at": local_time(event.changed_at),  # Athens, as every mail
                "link": self.mailer.link(event.locale, "forgot-password"),
            },
        )

    async def existing_email(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(contract.RegistrationAttemptedForExistingEmail)
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=event.email,
            to_name=event.name,
            template="registration_existing_email",
            locale=event.locale,
            context={
                "name": event.name,
                "username": event.username,
                "login_link": self.mailer.link(event.locale, "login"),
                "reset_link": self.mailer.link(event.locale, "forgot-password"),
            },
        )


def consumers(mailer: Mailer) -> list[EventConsumer]:
    mails = IdentityMails(mailer)
    return [
        EventConsumer(
            name=CONSUMER_NAME,
            subject=events_of(contract.SERVICE),
            handler=mails.handle,
            max_workers=CONSUMER_WORKERS,
            inbox=False,
        )
    ]

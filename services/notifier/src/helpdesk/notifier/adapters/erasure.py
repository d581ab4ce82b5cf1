"""What the notifier holds of a person, found and scrubbed when they are erased
(issue 30; docs/privacy.md, "Erasure in the notifier and the mailgate").

Every mail and webhook delivery records whose it is (migration notifier_0005):
`Concerned.of(envelope)` reads it from the event behind it — the owners of its
personal fields (`contracts/personal.py`), and which of them each address in it
belongs to — so the mail to a person carries their id (`recipient_id`), and
every mail and delivery the ids of everyone whose data it may hold (`people`).

`PostgresErasure.scrub` finds the person's rows by id, and rows recorded before
that migration by the addresses the notifier knew as theirs (the recipients of
their own mails, the alert address of the webhooks they registered) or, in a
webhook body or a dead letter, by their id. All of it in one transaction: a
crash scrubs all or nothing, and the next delivery of the event scrubs again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.webhooks import PERSONAL_EVENT_TYPES
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.notifier.handlers.deps import ErasureDeps
from helpdesk.servicekit.clock import SystemClock
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.privacy import personal_sites, sealed_key_id
from helpdesk.servicekit.settings import PersonalDataSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class Concerned:
    """Whose personal data an event carries: every owner of its personal fields,
    and the owner of each e-mail address in it (lower-cased)."""

    people: frozenset[UUID]
    addresses: Mapping[str, UUID]

    @classmethod
    def of(cls, envelope: EventEnvelope) -> Concerned:
        model = EventData.registry.get(envelope.event_type)
        people: set[UUID] = set()
        addresses: dict[str, UUID] = {}
        for site in personal_sites(model, envelope.data) if model is not None else ():
            if site.owner is None:
                continue
            people.add(site.owner)
            value = site.container[site.name]
            if isinstance(value, str) and "@" in value:
                addresses.setdefault(value.lower(), site.owner)
        return cls(frozenset(people), addresses)

    def whose(self, mail: OutgoingMail) -> OutgoingMail:
        """`mail` marked with its recipient's id (when the event names their address)
        and everyone whose data it may hold."""
        return OutgoingMail(
            **mail.parts(), to_id=self.addresses.get(mail.to.lower()), about=self.people
        )


@dataclass(frozen=True)
class Scrubbed:
    """How many rows an erasure deleted or blanked, per kind (for the log)."""

    mails_to: int
    mails_about: int
    files_forgotten: int
    alert_addresses: int
    webhook_deliveries: int
    dead_letters: int


# The addresses the notifier knew as the person's: the recipients of their own
# mails, and the alert address they gave for the webhooks they registered.
_ADDRESSES = """
SELECT recipient FROM deliveries WHERE recipient_id = $1
UNION
SELECT lower(alert_email) FROM webhooks WHERE created_by = $1 AND alert_email IS NOT NULL
"""
# Mails addressed to them, sent or not: gone (a pending one is never sent).
_MAILS_TO = """
DELETE FROM deliveries
WHERE recipient_id = $1 OR (recipient_id IS NULL AND recipient = any($2::text[]))
"""
# A mail to someone else about them, not sent yet: dropped, it carries their data.
_PENDING_ABOUT = "DELETE FROM deliveries WHERE people @> ARRAY[$1::uuid] AND status = 'pending'"
# One already sent stays the recipient's record, without the file names it carried.
_FILES_ABOUT = """
UPDATE deliveries SET attachments = NULL
WHERE people @> ARRAY[$1::uuid] AND attachments IS NOT NULL
"""
_ALERTS = """
UPDATE webhooks SET alert_email = NULL
WHERE alert_email IS NOT NULL AND (created_by = $1 OR lower(alert_email) = any($2::text[]))
"""
# The plain types carry ids and numbers only; a personal body about them goes.
_WEBHOOK_BODIES = """
DELETE FROM webhook_deliveries
WHERE event_type = any($2::text[])
  AND (people @> ARRAY[$1::uuid]
       OR (people IS NULL AND position(convert_to($3, 'UTF8') IN body) > 0))
"""
_DEAD_LETTERS_NAMING = """
SELECT id, payload FROM dead_letters WHERE position(convert_to($1, 'UTF8') IN payload) > 0
"""


def holds_plain_personal_data(payload: bytes) -> bool:
    """Whether a parked envelope holds a personal value in plaintext (parked before
    events were sealed, or unreadable: then it cannot be told, so yes). Sealed
    values of an erased person can no longer be opened by anyone."""
    try:
        envelope = EventEnvelope.model_validate_json(payload)
    except ValidationError:
        return True
    model = EventData.registry.get(envelope.event_type)
    if model is None:
        return False
    for site in personal_sites(model, envelope.data):
        value = site.container[site.name]
        if value not in (None, site.personal.erased) and sealed_key_id(value) is None:
            return True
    return False


def _count(status: str) -> int:
    """The row count of a command's status ("DELETE 3", "UPDATE 0")."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresErasure:
    """The handlers' `Erasure`, on the event's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def scrub(self, person_id: UUID) -> Scrubbed:
        conn = self.conn
        async with conn.transaction():
            addresses = [r["recipient"] for r in await conn.fetch(_ADDRESSES, person_id)]
            mails_to = await conn.execute(_MAILS_TO, person_id, addresses)
            about = await conn.execute(_PENDING_ABOUT, person_id)
            files = await conn.execute(_FILES_ABOUT, person_id)
            alerts = await conn.execute(_ALERTS, person_id, addresses)
            personal_types = sorted(t.value for t in PERSONAL_EVENT_TYPES)
            as_text = str(person_id)  # as it appears in a JSON body
            bodies = await conn.execute(_WEBHOOK_BODIES, person_id, personal_types, as_text)
            naming = await conn.fetch(_DEAD_LETTERS_NAMING, as_text)
            plain = [r["id"] for r in naming if holds_plain_personal_data(bytes(r["payload"]))]
            if plain:
                await conn.execute("DELETE FROM dead_letters WHERE id = any($1::bigint[])", plain)
        scrubbed = Scrubbed(
            mails_to=_count(mails_to),
            mails_about=_count(about),
            files_forgotten=_count(files),
            alert_addresses=_count(alerts),
            webhook_deliveries=_count(bodies),
            dead_letters=len(plain),
        )
        log.info("person's data scrubbed", user_id=str(person_id), **vars(scrubbed))
        return scrubbed


def erasure_deps(conn: Connection, settings: PersonalDataSettings) -> ErasureDeps:
    """The erasure handler's dependencies for one event, on its connection."""
    return ErasureDeps(PostgresErasure(conn), settings.privacy_key_cache_seconds, SystemClock())

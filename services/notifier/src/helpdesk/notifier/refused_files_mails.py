"""Mail to the sender of a mail whose files were not all taken (issue 26): each
refused file with the reason, in the sender's language (Greek or English).

The event is `TicketAttachmentsRefused`, recorded by the tickets service when
the mailgate hands it a mail's files (docs/mail.md, "Files"). Registered in
`ticket_mails.TicketMails.handlers`; recorded once per (event, recipient,
template) like every ticket mail.
"""

from __future__ import annotations

from helpdesk.contracts.attachments import TicketAttachmentsRefused
from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.notifier.mailer import Mailer
from helpdesk.notifier.threading import thread_headers
from helpdesk.servicekit.db import Connection

TEMPLATE = "ticket_files_refused"

# Why a file was not taken, per refusal code (servicekit.attachments, tickets).
REASONS: dict[str, dict[str, str]] = {
    "unsupported_type": {
        "el": "αυτό το είδος αρχείου δεν γίνεται δεκτό (π.χ. εκτελέσιμα προγράμματα)",
        "en": "this kind of file is not accepted (executables, for example)",
    },
    "file_too_large": {
        "el": "το αρχείο είναι μεγαλύτερο από το επιτρεπτό όριο",
        "en": "the file is larger than the limit",
    },
    "empty_file": {"el": "το αρχείο είναι κενό", "en": "the file is empty"},
    "image_too_large": {
        "el": "η εικόνα έχει υπερβολικά πολλά pixel",
        "en": "the image has too many pixels",
    },
    "damaged_image": {
        "el": "η εικόνα είναι κατεστραμμένη και δεν διαβάζεται",
        "en": "the image is damaged and cannot be read",
    },
    "malware_found": {
        "el": "ο έλεγχος για κακόβουλο λογισμικό απέρριψε το αρχείο",
        "en": "the malware scan refused the file",
    },
    "ticket_attachments_full": {
        "el": "το αίτημα έφτασε το όριο συνολικού μεγέθους συνημμένων",
        "en": "the request has reached its total size limit for attachments",
    },
    "too_many_files": {
        "el": "το μήνυμα είχε περισσότερα αρχεία από όσα δεχόμαστε σε ένα μήνυμα",
        "en": "the message had more files than one message may bring",
    },
    "ticket_closed": {"el": "το αίτημα έχει κλείσει", "en": "the request is closed"},
    "unreadable_file": {
        "el": "το αρχείο δεν μπόρεσε να διαβαστεί",
        "en": "the file could not be read",
    },
}
OTHER = {"el": "το αρχείο δεν έγινε δεκτό", "en": "the file was not accepted"}


def reason_text(code: str, locale: str) -> str:
    texts = REASONS.get(code, OTHER)
    return texts.get(locale, texts["el"])


async def files_refused(mailer: Mailer, conn: Connection, envelope: EventEnvelope) -> None:
    event = envelope.open(TicketAttachmentsRefused)
    sender = event.by
    if not sender.email or not event.files:
        return
    locale = sender.locale if sender.locale in ("el", "en") else "el"
    await mailer.queue(
        conn,
        event_id=envelope.event_id,
        to=sender.email,
        to_name=sender.name,
        template=TEMPLATE,
        locale=locale,
        headers=thread_headers(mailer.settings, event.ticket_id),
        context={
            "name": sender.name or "",
            "number": event.number,
            "subject": event.subject_line,
            "files": [(f.name, reason_text(f.code, locale)) for f in event.files],
            "link": mailer.link(locale, f"tickets/{event.ticket_id}"),
        },
    )

"""What the mails say beyond their templates: times in the helpdesk's clock, the
FAQ's priority labels, SLA targets, assignment policies and why a file was not
taken, in Greek and English. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from helpdesk.contracts.priorities import PRIORITY_TEXT, Priority
from helpdesk.contracts.tickets import Contact, SlaTarget

LOCALES = ("el", "en")
# The on-call address is the service desk's: Greek.
ONCALL_LOCALE = "el"
# Every time in every mail is the helpdesk's business clock (issue 26).
ATHENS = ZoneInfo("Europe/Athens")


def locale_of(contact: Contact) -> str:
    """The contact's language if the mails speak it, else Greek."""
    return contact.locale if contact.locale in LOCALES else "el"


def local_time(moment: datetime | None) -> str:
    """`23/11/2026 17:00` in Athens time (the helpdesk's business clock)."""
    if moment is None:
        return "-"
    return moment.astimezone(ATHENS).strftime("%d/%m/%Y %H:%M")


def hours_between(start: datetime, end: datetime) -> int:
    return max(1, round((end - start).total_seconds() / 3600))


def priority_label(priority: Priority, locale: str) -> str:
    texts = PRIORITY_TEXT[priority]
    return texts.get(locale, texts["el"]).label


TARGET_LABEL = {
    SlaTarget.FIRST_RESPONSE: {"el": "πρώτης απάντησης", "en": "first response"},
    SlaTarget.RESOLUTION: {"el": "επίλυσης", "en": "resolution"},
}

POLICY_TEXT = {
    "round_robin": {"el": "εκ περιτροπής ανάθεση", "en": "round robin"},
    "least_open": {
        "el": "ανάθεση στον λιγότερο φορτωμένο",
        "en": "to the agent with the fewest open requests",
    },
}

# Why a mailed-in file was not taken, per refusal code (servicekit.attachments, tickets).
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
OTHER_REASON = {"el": "το αρχείο δεν έγινε δεκτό", "en": "the file was not accepted"}


def reason_text(code: str, locale: str) -> str:
    texts = REASONS.get(code, OTHER_REASON)
    return texts.get(locale, texts["el"])

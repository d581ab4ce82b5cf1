"""The portal's words in Greek (first) and English.

The sentences are data, in the TOML catalogues of `texts/` (each key a table
with its `el` and `en`, so a translator reads the Greek beside the English);
this module loads them and answers `t(key, lang)`.

Greek labels that the FAQ (`seed/helpdesk-faq.el.txt`) names are copied from it
verbatim — including its spelling — because users follow the FAQ word by word.
Those keys are `FAQ_KEYS`; a unit test checks each against the seed.
"""

from __future__ import annotations

import math
import re
import tomllib
from importlib.resources import files
from typing import Literal, get_args

Lang = Literal["el", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
DEFAULT_LANG: Lang = "el"

# Keys whose Greek is the FAQ's own words, verbatim (`seed/helpdesk-faq.el.txt`).
FAQ_KEYS = (
    "register_link",
    "register_button",
    "registered_message",
    "login_link",
    "login_heading",
    "login_button",
    "forgot_password_link",
    "forgot_username_link",
    "enter_account_email",
    "submit_button",
    "username_label",
    "new_ticket_link",
)


def _catalogue(name: str) -> dict[str, dict[str, str]]:
    text = files("helpdesk.gateway.portal").joinpath(f"texts/{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


def _load() -> dict[str, dict[Lang, str]]:
    """The catalogues of `texts/`, in this order; a later one may not redefine a key."""
    strings: dict[str, dict[Lang, str]] = {}
    for table in (
        _catalogue("portal"),
        _catalogue("attachments"),
        _catalogue("agents"),
        _catalogue("factors"),
        _catalogue("workspace"),
        _catalogue("erasure"),
    ):
        for key, entry in table.items():
            if key in strings:
                raise ValueError(f"the portal's texts define {key!r} twice")
            strings[key] = {lang: entry[lang] for lang in LANGS}
    return strings


_STRINGS = _load()
FAQ_LABELS: dict[str, str] = {key: _STRINGS[key]["el"] for key in FAQ_KEYS}


def t(key: str, lang: Lang) -> str:
    """The text of `key` in `lang`; a missing key shows itself (and fails the unit test)."""
    entry = _STRINGS.get(key)
    return entry[lang] if entry else key


def duration(minutes: float, lang: Lang) -> str:
    """`2 ώρες 15 λεπτά` / `2 h 15 min`: a wait or an SLA countdown, whole minutes
    rounded up (a wait of 3511 s reads "59 λεπτά", never seconds)."""
    total = max(1, math.ceil(abs(minutes)))
    hours, mins = divmod(total, 60)
    parts = []
    if hours:
        parts.append(t("hour_one" if hours == 1 else "hour_many", lang).format(n=hours))
    if mins:
        parts.append(t("minute_one" if mins == 1 else "minute_many", lang).format(n=mins))
    return " ".join(parts)


def keys() -> list[str]:
    return list(_STRINGS)


def entries() -> dict[str, dict[Lang, str]]:
    return _STRINGS


def lang_or_none(value: str | None) -> Lang | None:
    return value if value in LANGS else None  # type: ignore[return-value]


def preferred_lang(accept_language: str | None) -> Lang:
    """Greek first: English only when the browser prefers it over Greek."""
    if not accept_language:
        return DEFAULT_LANG
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGS:
            return tag  # type: ignore[return-value]
    return DEFAULT_LANG


# The identity service explains bad input in English; these are its known phrasings.
_FIELD_MESSAGES_EL: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"must be at least (\d+) characters long"),
        "Πρέπει να έχει τουλάχιστον {0} χαρακτήρες.",
    ),
    (
        re.compile(r"must be at most (\d+) characters long"),
        "Πρέπει να έχει το πολύ {0} χαρακτήρες.",
    ),
    (
        re.compile(r"must be (\d+) to (\d+) characters long"),
        "Πρέπει να έχει από {0} έως {1} χαρακτήρες.",
    ),
    (
        re.compile(r"may contain only letters"),
        "Επιτρέπονται μόνο γράμματα (και ελληνικά), αριθμοί, '.', '_' και '-'.",
    ),
    (
        re.compile(r"must not be your username or e-mail"),
        "Δεν πρέπει να είναι το όνομα σύνδεσης ή το email σας.",
    ),
    (re.compile(r"is too common"), "Είναι πολύ κοινός κωδικός· επιλέξτε άλλον."),
    (
        re.compile(r"must not be blank|field required", re.IGNORECASE),
        "Το πεδίο είναι υποχρεωτικό.",
    ),
    (
        re.compile(r"not a valid email|valid email address", re.IGNORECASE),
        "Δεν είναι έγκυρη διεύθυνση email.",
    ),
    (re.compile(r"control characters"), "Περιέχει μη επιτρεπτούς χαρακτήρες."),
    (re.compile(r"at most (\d+) characters"), "Πρέπει να έχει το πολύ {0} χαρακτήρες."),
    (re.compile(r"already taken|is taken"), "Χρησιμοποιείται ήδη. Επιλέξτε άλλο."),
    # The tickets service's refusals of the agents' forms (issue 29: Greek, once).
    (
        re.compile(r"no such active user"),
        "Δεν υπάρχει ενεργός χρήστης με αυτό το όνομα χρήστη ή email.",
    ),
    (re.compile(r"not a member of the queue"), "Δεν είναι μέλος της ουράς του αιτήματος."),
    (re.compile(r"not an active agent|^not an agent$"), "Δεν είναι ενεργός τεχνικός."),
    (re.compile(r"a moment in the future"), "Πρέπει να είναι στιγμή στο μέλλον."),
    (
        re.compile(r"only when away for more than a day"),
        "Μόνο όταν η απουσία διαρκεί πάνω από μία ημέρα.",
    ),
]


def field_message(message: str, lang: Lang) -> str:
    """A field error from a service, in the page's language when we know its phrasing."""
    if lang == "en":
        return message[:1].upper() + message[1:] if message else message
    for pattern, greek in _FIELD_MESSAGES_EL:
        found = pattern.search(message)
        if found:
            return greek.format(*found.groups())
    return message

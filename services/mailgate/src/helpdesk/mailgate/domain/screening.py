"""Which mails are people's: machines' mail never becomes a ticket or a reply.

In order: bounces and delivery reports (a null envelope sender, `multipart/
report`, `MAILER-DAEMON`), the helpdesk's own addresses (a mail loop),
auto-replies (RFC 3834 `Auto-Submitted` other than `no`, `X-Autoreply`,
`X-Autorespond`, `Precedence:
bulk|junk|list`, out-of-office subjects in Greek and English). A mail without
a usable sender address cannot be answered or attributed either. The per-
sender rate limit, the last guard, is counted by the store (see
`handlers/process.py`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum

from helpdesk.contracts.mail import split_address
from helpdesk.mailgate.domain.message import ParsedMail


class Skip(StrEnum):
    BOUNCE = "bounce"
    OWN_ADDRESS = "own_address"
    AUTO_REPLY = "auto_reply"
    NO_SENDER = "no_sender"
    RATE_LIMITED = "rate_limited"


_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|autoreply|"
    r"away from (?:the )?office|on vacation|vacation reply|"
    r"αυτόματη απάντηση|εκτός γραφείου|απουσία από το γραφείο|είμαι εκτός γραφείου|"
    r"undeliverable|delivery status notification|mail delivery failed|returned mail|"
    r"μη παραδόσιμο|αποτυχία παράδοσης"
    r")",
    re.IGNORECASE,
)


def is_own(address: str, own: Collection[str]) -> bool:
    """`address` is one of ours: a support address, one of its `+` forms, the sender."""
    base, _, domain = split_address(address)
    for mine in own:
        my_base, _, my_domain = split_address(mine)
        if (base, domain) == (my_base, my_domain):
            return True
    return False


def screen(mail: ParsedMail, *, envelope_sender: str | None, own: Collection[str]) -> Skip | None:
    """Why this mail must create nothing, or None if it is a person's."""
    headers = mail.headers
    if envelope_sender == "" or mail.content_type == "multipart/report":
        return Skip.BOUNCE
    if headers.get("return-path", "").strip() == "<>" or "x-failed-recipients" in headers:
        return Skip.BOUNCE
    if mail.sender is None:
        return Skip.NO_SENDER
    if _DAEMONS.match(mail.sender):
        return Skip.BOUNCE
    if is_own(mail.sender, own):
        return Skip.OWN_ADDRESS
    auto = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return Skip.AUTO_REPLY
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return Skip.AUTO_REPLY
    if headers.get("precedence", "").strip().lower() in ("bulk", "junk", "list"):
        return Skip.AUTO_REPLY
    if _OUT_OF_OFFICE.match(mail.subject):
        return Skip.AUTO_REPLY
    return None

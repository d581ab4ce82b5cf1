"""Reading a mail as it arrives: raw RFC 5322 bytes -> `ParsedMail`.

The standard library's `email` package with the modern policy does the hard
parts (MIME structure, RFC 2047 encoded words in subjects and names, quoted-
printable and base64 bodies, charsets: UTF-8, ISO-8859-7, Windows-1253 ...).
What is ours: choosing the text (`text/plain`, else `text/html` converted),
surviving broken mail (a wrong charset, a malformed header, a missing
boundary: a defect is recorded, the mail is still read), and bounding every
field before it goes anywhere.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message

from helpdesk.mailgate.domain.text import html_to_text, trim_quoted

SUBJECT_MAX = 200
BODY_MAX = 20_000
_WHITESPACE = re.compile(r"[ \t]+")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,900}>")


# The headers screening looks at (auto-replies, bounces, lists).
SCREENED_HEADERS = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "return-path",
    "x-failed-recipients",
)


class UnreadableMail(ValueError):
    """Not a mail at all (no headers, binary noise): kept and dead-lettered."""


@dataclass(frozen=True)
class ParsedMail:
    sha256: str
    message_id: str | None
    sender: str | None  # From's address, lowercase
    sender_name: str | None
    to: tuple[str, ...]  # To, Cc and Delivered-To addresses, lowercase
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str  # the new text, quoted history trimmed
    full_text: str  # the whole text as sent
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)  # lowercase name -> first value
    attachments: tuple[str, ...] = ()
    defects: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What makes two deliveries the same mail: its Message-ID, else its bytes."""
        return self.message_id or f"sha256:{self.sha256}"


def clean_line(value: str, limit: int) -> str:
    """One line without control or format characters, bounded."""
    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in value
        if unicodedata.category(ch) not in ("Cf", "Cs", "Co", "Cn")
    )
    return _WHITESPACE.sub(" ", kept).strip()[:limit]


def clean_text(value: str, limit: int = BODY_MAX) -> str:
    """Multi-line text without control or format characters (zero-width joiners,
    soft hyphens, NUL: PostgreSQL refuses it), normalised line ends, bounded."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(
        ch
        for ch in value
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    kept = kept.replace("\u2028", "\n").replace("\u2029", "\n")
    lines = [line.rstrip() for line in kept.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if len(text) > limit:
        text = text[: limit - 2].rstrip() + "\n…"
    return text


def _header(message: Message, name: str) -> str:
    """A header as text; a malformed one (undecodable word, bad charset) as raw text."""
    try:
        value = message.get(name)
    except Exception:  # the header registry refused it
        value = None
    if value is None:
        raw = message.get_all(name, failobj=[])
        value = raw[0] if raw else ""
    return str(value)


def _addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    values = [str(v) for name in names for v in (message.get_all(name) or [])]
    return [(n, a.lower()) for n, a in email.utils.getaddresses(values) if "@" in a]


def _message_ids(value: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(value or ""))[:50]


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name: read it as UTF-8, keep what decodes
        return payload.decode("utf-8", errors="replace")


def _body(message: Message) -> tuple[str, list[str]]:
    """The readable text: the first text/plain that is not an attachment, else the
    first text/html converted; and the names of the attachments."""
    plain: str | None = None
    html: str | None = None
    attachments: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = part.get_filename()
        if disposition == "attachment" or (filename and disposition != "inline"):
            attachments.append(clean_line(filename or "attachment", 255))
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decode(part)
        elif kind == "text/html" and html is None:
            html = _decode(part)
    if plain is not None and plain.strip():
        return plain, attachments
    if html is not None:
        return html_to_text(html), attachments
    return plain or "", attachments


def parse(raw: bytes) -> ParsedMail:
    """Read `raw` as a mail; raises `UnreadableMail` only when it is not one at all."""
    digest = hashlib.sha256(raw).hexdigest()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise UnreadableMail("no headers")
    senders = _addresses(message, "From") or _addresses(message, "Sender")
    sender_name, sender = senders[0] if senders else ("", None)
    date = None
    try:
        date = email.utils.parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        date = None
    full, attachments = _body(message)
    full_text = clean_text(full)
    ids = _message_ids(_header(message, "Message-ID"))
    names = SCREENED_HEADERS
    return ParsedMail(
        sha256=digest,
        message_id=ids[0] if ids else None,
        sender=sender,
        sender_name=clean_line(sender_name, 200) or None,
        to=tuple(a for _, a in _addresses(message, "To", "Cc", "Delivered-To", "X-Original-To")),
        subject=clean_line(_header(message, "Subject"), SUBJECT_MAX),
        date=date,
        in_reply_to=_message_ids(_header(message, "In-Reply-To")),
        references=_message_ids(_header(message, "References")),
        text=clean_text(trim_quoted(full_text)) or full_text,
        full_text=full_text,
        content_type=message.get_content_type(),
        headers={n: clean_line(_header(message, n), 500) for n in names if n in message},
        attachments=tuple(attachments),
        defects=tuple(type(d).__name__ for p in message.walk() for d in p.defects),
    )

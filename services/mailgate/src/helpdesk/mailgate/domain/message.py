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
import mimetypes
import re
import unicodedata
import uuid
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


# Parts that are not a person's file: signatures of signed mail, and the machine
# parts of delivery reports (screened out before files are looked at anyway).
NOT_FILES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
        "application/pgp-encrypted",
        "message/delivery-status",
        "message/disposition-notification",
        "text/rfc822-headers",
    }
)
_FILES_NAMESPACE = uuid.UUID("8f0d2c0e-6a53-4c3b-9b0e-6d2f3a1e26a3")


@dataclass(frozen=True)
class MailFile:
    """A file the mail brought: an attachment, an inline image, an attached mail,
    or Outlook's winmail.dat (kept as it is, not unpacked)."""

    index: int  # its position among the mail's leaf parts: stable for the same bytes
    name: str
    content_type: str  # as the mail declared it (the kit decides from the bytes)
    data: bytes
    inline: bool  # shown in the text (an inline image), not listed as an attachment

    def attachment_id(self, mail_key: str) -> uuid.UUID:
        """The same mail's same part always gets the same id (retries record nothing
        twice)."""
        return uuid.uuid5(_FILES_NAMESPACE, f"{mail_key}#{self.index}")


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
    attachments: tuple[str, ...] = ()  # the names of `files`
    defects: tuple[str, ...] = ()
    files: tuple[MailFile, ...] = ()

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


def _disposition(part: Message) -> str:
    return (part.get("Content-Disposition") or "").split(";")[0].strip().lower()


def _leaves(message: Message) -> list[Message]:
    """The mail's leaf parts in order; an attached mail (message/rfc822) is one leaf."""
    found: list[Message] = []

    def visit(part: Message, top: bool) -> None:
        if part.get_content_type() == "message/rfc822" and not top:
            found.append(part)
        elif part.is_multipart():
            for sub in part.get_payload():  # type: ignore[union-attr]
                if isinstance(sub, Message):
                    visit(sub, False)
        else:
            found.append(part)

    visit(message, True)
    return found


def _is_file(part: Message) -> bool:
    kind = part.get_content_type()
    if kind in NOT_FILES:
        return False
    disposition = _disposition(part)
    if disposition == "attachment" or kind == "message/rfc822":
        return True
    if part.get_filename() and disposition != "inline":
        return True
    # Inline images and any other non-text part (a PDF without a name): files too.
    return part.get_content_maintype() != "text"


def _file_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes()
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _file_name(part: Message, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:  # a malformed parameter: named below
        name = None
    if name:
        return clean_line(name, 255) or f"attachment-{index}"
    kind = part.get_content_type()
    if kind == "message/rfc822":
        return "message.eml"
    extension = mimetypes.guess_extension(kind) or ".bin"
    stem = "image" if part.get_content_maintype() == "image" else "attachment"
    return f"{stem}-{index}{extension}"


def _body(message: Message) -> tuple[str, list[MailFile]]:
    """The readable text: the first text/plain that is not a file, else the first
    text/html converted; and every file (attachments, inline images)."""
    plain: str | None = None
    html: str | None = None
    files: list[MailFile] = []
    for index, part in enumerate(_leaves(message)):
        if _is_file(part):
            files.append(
                MailFile(
                    index=index,
                    name=_file_name(part, index),
                    content_type=part.get_content_type(),
                    data=_file_bytes(part),
                    inline=_disposition(part) == "inline" or bool(part.get("Content-ID")),
                )
            )
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decode(part)
        elif kind == "text/html" and html is None:
            html = _decode(part)
    if plain is not None and plain.strip():
        return plain, files
    if html is not None:
        return html_to_text(html), files
    return plain or "", files


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
    full, files = _body(message)
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
        attachments=tuple(f.name for f in files),
        files=tuple(files),
        defects=tuple(type(d).__name__ for p in message.walk() for d in p.defects),
    )

"""How the helpdesk writes the headers of the mails it sends: one policy and one
way to encode a header, for the notifier's mails and the mailgate's replies.

Python's modern folder (`email.policy.default`, which `EmailMessage` uses)
loses the space between two words where it splits a non-ASCII header into
encoded words: the Greek subject "… λογαριασμό για …" reached mail clients as
"λογαριασμόγια". `email.header.Header` with the utf-8 charset encodes the whole
value as encoded words split between characters, each carrying its own spaces,
which every compliant client decodes back to the same text
(tests/unit/test_mail_headers.py decodes every template's subject).
"""

from __future__ import annotations

import re
from email.header import Header
from email.policy import Compat32
from typing import Any

_LINE_BREAKS = re.compile(r"[\r\n\x00]+")
# A header value that was already encoded and folded: ASCII lines, each
# continuation starting with a space or tab.
_FOLDED = re.compile(r"[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")


def header_safe(value: str) -> str:
    """No CR/LF ever reaches a header raw (header injection)."""
    return _LINE_BREAKS.sub(" ", value).strip()


class MailPolicy(Compat32):
    """compat32, except that a header value that is plain ASCII and already
    fits (a short value, or one folded before: a header copied from a parsed
    message) is written as it is. compat32 runs every value through `Header`
    again, which re-folds an encoded value (a Subject then starts with an empty
    line) and is half of a mail's composition CPU."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        limit = self.max_line_length or 78
        if isinstance(value, str) and value.isascii() and _FOLDED.fullmatch(value):
            lines = value.splitlines()
            if len(name) + 2 + len(lines[0]) <= limit and all(len(x) <= limit for x in lines):
                return f"{name}: {self.linesep.join(lines)}{self.linesep}"
        folded: str = super()._fold(name, value, sanitize)  # type: ignore[misc]
        return folded


MAIL_POLICY = MailPolicy()


def encoded(name: str, value: str) -> str | Header:
    """`value` for header `name`: as it is when short ASCII, else encoded words."""
    value = header_safe(value)
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return value
    return Header(value, "utf-8", header_name=name)

"""Text that crosses the edge: the checks every free-text field shares.

Control characters (NUL included: PostgreSQL refuses it) are never valid;
one-line fields (names, subjects) also refuse line and paragraph separators
(U+2028, U+2029), which some clients render as a line break.
"""

from __future__ import annotations

import unicodedata

# Cc control, Cf format, Cs surrogate, Co private use, Cn unassigned.
_CONTROL = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_LINE_BREAKS = frozenset({"Zl", "Zp"})


def no_control_chars(value: str, *, allow_newlines: bool = False) -> str:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    refused = _CONTROL if allow_newlines else _CONTROL | _LINE_BREAKS
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) in refused:
            raise ValueError("must not contain control characters")
    return value


def single_line(value: str) -> str:
    """A one-line field, trimmed; blank is refused."""
    value = no_control_chars(value).strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def text(value: str) -> str:
    """A multi-line field (descriptions, messages); blank is refused."""
    value = no_control_chars(value, allow_newlines=True)
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def secret(value: str) -> str:
    """A password: any printable character, nothing that is not text."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError("must not contain control characters")
    return value


def fold(value: str) -> str:
    """Lower case without accents: "Δίκτυο" and "ΔΙΚΤΥΟ" -> "δικτυο", "Café" -> "cafe"
    (what a person types in a search box is matched against this)."""
    decomposed = unicodedata.normalize("NFD", value)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare).casefold().replace("ς", "σ")

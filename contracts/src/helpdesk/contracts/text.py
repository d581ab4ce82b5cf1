"""Text that crosses the edge: the checks every free-text field shares.

Control characters (NUL included: PostgreSQL refuses it), invisible format
characters and private-use ones are never valid (multi-line text may join
characters with U+200C and U+200D, as emoji and some scripts do); one-line
fields (names, subjects) also refuse line and paragraph separators (U+2028,
U+2029), which some clients render as a line break. Each rule is one regular expression, used
both to check a value and as the field's `pattern` in the API's document: a
field annotated with `SINGLE_LINE`, `TEXT`, `NO_CONTROL_CHARS` or `SECRET`
tells clients exactly what it refuses (issue 31). Characters Unicode has not
assigned yet are accepted: no portable pattern can name them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

# What free text may not hold, as the ranges of a regular-expression class that
# Python's `re` and JSON Schema's (ECMA-262, Unicode mode) read alike: \x and \u
# escapes in the Basic Multilingual Plane, the characters themselves beyond it.
# Cc control (NUL included: PostgreSQL refuses it) and Cs surrogates:
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
# Cf format characters (invisible: the soft hyphen, zero-width and bidi controls) and
# Co private use; Unicode 14 as Python 3.11 has it (tests/unit/test_text.py compares).
_INVISIBLE = (
    "\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f"
    "\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb\\ue000-\\uf8ff"
    + "".join(
        chr(first) if first == last else f"{chr(first)}-{chr(last)}"
        for first, last in (
            (0x110BD, 0x110BD),
            (0x110CD, 0x110CD),
            (0x13430, 0x13438),
            (0x1BCA0, 0x1BCA3),
            (0x1D173, 0x1D17A),
            (0xE0001, 0xE0001),
            (0xE0020, 0xE007F),
            (0xF0000, 0xFFFFD),
            (0x100000, 0x10FFFD),
        )
    )
)
_LINE_BREAKS = "\\u2028\\u2029"  # Zl, Zp: some clients render them as a line break
_ONE_LINE = _CONTROL + _INVISIBLE + _LINE_BREAKS
# Multi-line text (descriptions, messages) keeps line breaks and tabs, and the zero-width
# non-joiner and joiner (U+200C, U+200D), which joined emoji (man + ZWJ + laptop) and
# Persian or Indic words are written with. Names and subjects, where an invisible
# character could make one person look like another, refuse them.
_MULTI_LINE = _CONTROL.replace(
    "\\x00-\\x1f", "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f"
) + _INVISIBLE.replace("\\u200b-\\u200f", "\\u200b\\u200e\\u200f")


def _somewhere_not_blank(refused: str) -> str:
    return f"[^{refused}]*[^{refused}\\s][^{refused}]*"


@dataclass(frozen=True)
class TextRule:
    """A free-text field's rule, checked by the same regular expression the API's
    document states as the field's `pattern` (so a client can check it first)."""

    body: str  # the expression, matched against the whole value
    message: str
    strip: bool = False
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.body))

    @property
    def pattern(self) -> str:
        return f"^(?:{self.body})$"

    def __call__(self, value: str) -> str:
        if self.compiled.fullmatch(value) is None:
            raise ValueError(self.message)
        return value.strip() if self.strip else value

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if "pattern" in json_schema:  # a field's own pattern as well: both hold
            json_schema.setdefault("allOf", []).append({"pattern": self.pattern})
        else:
            json_schema["pattern"] = self.pattern
        return json_schema


# A one-line field (names, subjects), trimmed; blank is refused.
SINGLE_LINE = TextRule(
    _somewhere_not_blank(_ONE_LINE),
    "must be one line of text without control characters, and not blank",
    strip=True,
)
# A multi-line field (descriptions, messages): line breaks and tabs are text; blank
# is refused.
TEXT = TextRule(
    _somewhere_not_blank(_MULTI_LINE), "must be text without control characters, and not blank"
)
# Lines of text that may be blank (an optional note).
LINES = TextRule(f"[^{_MULTI_LINE}]*", "must be text without control characters")
# One line, as it is (a login, an address, a token's description).
NO_CONTROL_CHARS = TextRule(f"[^{_ONE_LINE}]*", "must not contain control characters")
# A password: any character that is text (format and private-use characters too).
SECRET = TextRule(f"[^{_CONTROL}]*", "must not contain control characters")


def secret(value: str) -> str:
    """A password: any printable character, nothing that is not text."""
    return SECRET(value)


def fold(value: str) -> str:
    """Lower case without accents: "Δίκτυο" and "ΔΙΚΤΥΟ" -> "δικτυο", "Café" -> "cafe"
    (what a person types in a search box is matched against this)."""
    decomposed = unicodedata.normalize("NFD", value)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare).casefold().replace("ς", "σ")

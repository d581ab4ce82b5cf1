"""What a search query means, before any SQL: its words, their accent- and
case-folded forms, a ticket number in it, and the highlighted snippet format.

Pure. The PostgreSQL side (`adapters/search.py`, migration 0005) stems the
words (Greek and English Snowball) and matches each as a prefix; this module
only folds what the stemmer cannot: accents of the unstemmed prefix words
(`unaccent` is not in the embedded PostgreSQL, docs/search.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpdesk.contracts.text import fold

MAX_TERMS = 8
MAX_TERM_LENGTH = 64
# ts_headline marks matches with these (private-use characters: text fields
# refuse them, so a ticket's own text can never forge a highlight).
START, STOP = "\ue000", "\ue001"

_WORD = re.compile(r"\w+", re.UNICODE)
_FULL_NUMBER = re.compile(r"^\s*(?:HD)?[-\s]?(\d{4})[-\s]0*(\d{1,9})\s*$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{2,9}$")


@dataclass(frozen=True)
class SearchTerms:
    words: tuple[str, ...]  # as typed (the stemmer folds Greek itself)
    folded: tuple[str, ...]  # for the unstemmed prefix match
    number_suffix: str | None  # reverse(...) prefix of ticket numbers to match

    @property
    def empty(self) -> bool:
        return not self.words and self.number_suffix is None


def parse(query: str) -> SearchTerms:
    """The words of `query` (at most MAX_TERMS; one-letter words dropped) and, if it
    names a ticket number ("HD-2026-000042", "2026-42") or ends one ("000042", "42"),
    the reversed number prefix that finds it."""
    words: list[str] = []
    for match in _WORD.finditer(query):
        word = match.group()[:MAX_TERM_LENGTH]
        if (len(word) > 1 or word.isdigit()) and word not in words:
            words.append(word)
    words = words[:MAX_TERMS]
    suffix = None
    full = _FULL_NUMBER.match(query)
    if full:
        number = f"HD-{full.group(1)}-{int(full.group(2)):06d}"
        suffix = number[::-1]
        words = []  # a number alone: nothing else to match
    elif len(words) == 1 and _DIGITS.match(words[0]):
        suffix = words[0][::-1]
    return SearchTerms(tuple(words), tuple(fold(w) for w in words), suffix)


@dataclass(frozen=True)
class Fragment:
    text: str
    match: bool


def fragments(headline: str) -> list[Fragment]:
    """ts_headline's output (matches between START and STOP) as plain text parts."""
    parts: list[Fragment] = []
    for index, chunk in enumerate(re.split(f"[{START}{STOP}]", headline)):
        if chunk:
            parts.append(Fragment(chunk, match=index % 2 == 1))
    return parts

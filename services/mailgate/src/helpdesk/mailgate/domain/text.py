"""The text people wrote: HTML made readable, quoted history trimmed.

* HTML -> text with Beautiful Soup (the field's standard HTML parser): scripts,
  styles and head dropped, block elements and `<br>` become line breaks, link
  targets kept beside their text when they differ.
* Quoted history: everything from the first attribution line of a quoted
  mail — "On … wrote:" (Gmail, Thunderbird, Apple Mail), "Στις … έγραψε:"
  (their Greek versions), Outlook's "-----Original Message-----" or its
  "From:/Sent:" block (Greek: "Από:/Στάλθηκε:") — and the trailing `>` lines.
  The untrimmed text stays with the raw mail, downloadable whole.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

_BLOCKS = (
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "table", "ul", "ol", "hr",
)  # fmt: skip

# One attribution line, possibly wrapped over two lines by the client.
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{0,300}\bwrote:"  # English: Gmail, Thunderbird, Apple Mail
    r"|Στις\b.{0,300}\bέγραψε:"  # Greek: Gmail, Thunderbird, Apple Mail
    r"|Le\b.{0,300}\ba écrit\s?:"  # French, as a courtesy
    r"|Am\b.{0,300}\bschrieb.{0,100}:"  # German
    r")\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Αρχικό μήνυμα|Forwarded message|Προωθημένο μήνυμα)\s*-{2,}",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(?:From|Από)\s?:\*?\s", re.IGNORECASE)
_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Στάλθηκε|Ημερομηνία|To|Προς|Subject|Θέμα)\s?:\*?\s", re.IGNORECASE
)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")


def html_to_text(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for element in soup(["script", "style", "head", "title", "meta"]):
        element.decompose()
    for link in soup.find_all("a"):
        if isinstance(link, Tag):
            href = str(link.get("href") or "")
            label = link.get_text(" ", strip=True)
            if href.startswith(("http://", "https://")) and href not in label:
                link.append(f" ({href})")
    for quote in soup.find_all("blockquote"):
        if isinstance(quote, Tag):
            for line in quote.find_all(string=True):
                if line.strip():
                    line.replace_with("\n".join("> " + part for part in str(line).split("\n")))
    for element in soup.find_all(_BLOCKS):
        if isinstance(element, Tag):
            element.insert_before("\n")
            if element.name != "br":
                element.insert_after("\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _history_starts(lines: list[str]) -> int | None:
    """The index of the first line of the quoted history, if there is one."""
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        joined = line if i + 1 >= len(lines) else f"{line} {lines[i + 1]}"
        if _ATTRIBUTION.match(line) or (
            line.lstrip().startswith(("On ", "Στις ")) and _ATTRIBUTION.match(joined)
        ):
            return i
        if _ORIGINAL.match(line):
            return i
        if _OUTLOOK_RULE.match(line) and any(_FROM.match(x) for x in lines[i + 1 : i + 3]):
            return i
        if _FROM.match(line):
            following = [x for x in lines[i + 1 : i + 6] if x.strip()]
            if sum(1 for x in following if _SENT.match(x)) >= 2:
                return i
    return None


def trim_quoted(text: str) -> str:
    """The new part of a reply: without the quoted history below it. Returns the
    text unchanged when nothing is quoted, and "" when it is all quote."""
    lines = text.split("\n")
    start = _history_starts(lines)
    if start is not None:
        lines = lines[:start]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    return "\n".join(lines).strip()

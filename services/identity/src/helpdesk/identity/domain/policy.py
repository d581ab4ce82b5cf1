"""What a valid username, e-mail key and password are (NIST SP 800-63B for passwords)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib.resources import files

USERNAME_MIN = 3
USERNAME_MAX = 64
USERNAME_PUNCTUATION = frozenset("._-")
PASSWORD_MIN = 10
PASSWORD_MAX = 128


def normalize_username(username: str) -> str:
    """The form a username is stored and shown in: Unicode NFKC, trimmed."""
    return unicodedata.normalize("NFKC", username).strip()


def username_key(username: str) -> str:
    """What uniqueness is decided on: NFKC, then case-folded (Σ, σ and ς are one letter)."""
    return normalize_username(username).casefold()


def email_key(email: str) -> str:
    return email.strip().casefold()


def username_problems(username: str) -> list[str]:
    name = normalize_username(username)
    problems = []
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        problems.append(f"must be {USERNAME_MIN} to {USERNAME_MAX} characters long")
    if any(not (ch.isalpha() or ch.isdigit() or ch in USERNAME_PUNCTUATION) for ch in name):
        problems.append("may contain only letters (Greek too), digits, '.', '_' and '-'")
    return problems


def name_problems(name: str) -> list[str]:
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return ["must not contain control characters or line breaks"]
    if not name.strip():
        return ["must not be blank"]
    return []


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = files("helpdesk.identity.domain").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def password_problems(password: str, *, username: str, email: str | None = None) -> list[str]:
    """Length, not the username or e-mail, not a well-known password; no composition rules."""
    normalized = unicodedata.normalize("NFKC", password)
    problems = []
    if len(normalized) < PASSWORD_MIN:
        problems.append(f"must be at least {PASSWORD_MIN} characters long")
    if len(normalized) > PASSWORD_MAX:
        problems.append(f"must be at most {PASSWORD_MAX} characters long")
    folded = normalized.casefold()
    if folded == username_key(username) or (email is not None and folded == email_key(email)):
        problems.append("must not be your username or e-mail address")
    elif folded in common_passwords():
        problems.append("is too common; choose another")
    return problems

"""Secrets sealed for one reader (issue 10 part 3, docs/security.md "Where secrets live").

Identity mails nothing itself: the notifier does, so the raw activation and
reset tokens must reach it. They travel sealed — libsodium's sealed box
(PyNaCl `SealedBox`: an ephemeral X25519 key agreement, XSalsa20-Poly1305,
anonymous sender) to the notifier's public key. Whoever reads the `IDENTITY`
stream, a dead letter or a log line sees ciphertext; only the holder of the
notifier's private key opens it. Identity holds the public key only, so it
cannot open what it sealed either.

Keys are 32 raw bytes, written as standard base64 (44 characters) in the
settings `HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY` (identity) and
`HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY` (notifier; during a rotation also
`…_PREVIOUS_PRIVATE_KEY`, so mails already sealed to the old key still open).
A sealed value is URL-safe base64 without padding.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import nacl.exceptions  # type: ignore[import-untyped]
import nacl.public  # type: ignore[import-untyped]
from pydantic import AfterValidator, SecretStr

KEY_BYTES = 32
PRIVATE_FILE = "notifier-seal.key"
PUBLIC_FILE = "notifier-seal.pub"
PREVIOUS_FILE = "notifier-seal.previous.key"


class Unsealable(ValueError):
    """No private key this process holds opens the value (or it is not sealed at all)."""


def _key_bytes(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 (helpdesk seal-keys create writes one)") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"a key is {KEY_BYTES} bytes in base64 (44 characters)")
    return raw


def _a_public_key(text: str) -> str:
    _key_bytes(text)
    return text.strip()


def _a_private_key(secret: SecretStr) -> SecretStr:
    _key_bytes(secret.get_secret_value())  # the message never contains the value
    return secret


# Settings types: a malformed key stops the service at start with one line.
SealPublicKey = Annotated[str, AfterValidator(_a_public_key)]
SealPrivateKey = Annotated[SecretStr, AfterValidator(_a_private_key)]


def generate() -> tuple[str, str]:
    """A new key pair: (private, public), each base64."""
    key = nacl.public.PrivateKey.generate()
    return _b64(bytes(key)), _b64(bytes(key.public_key))


def public_of(private: str) -> str:
    return _b64(bytes(nacl.public.PrivateKey(_key_bytes(private)).public_key))


@dataclass(frozen=True)
class Sealer:
    """Seals for the holder of `public_key`'s private half (identity's side)."""

    public_key: str

    def seal(self, secret: str) -> str:
        box = nacl.public.SealedBox(nacl.public.PublicKey(_key_bytes(self.public_key)))
        return base64.urlsafe_b64encode(box.encrypt(secret.encode())).decode().rstrip("=")


class Opener:
    """Opens what was sealed to any of `private_keys` (the notifier's side): the
    current key first, then the previous one while a rotation is under way."""

    def __init__(self, private_keys: Sequence[str]) -> None:
        if not private_keys:
            raise ValueError("an opener needs a private key")
        self._boxes = [
            nacl.public.SealedBox(nacl.public.PrivateKey(_key_bytes(k))) for k in private_keys
        ]

    def open(self, sealed: str) -> str:
        try:
            data = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except (binascii.Error, ValueError):
            raise Unsealable("not a sealed value") from None
        for box in self._boxes:
            try:
                return bytes(box.decrypt(data)).decode()
            except (nacl.exceptions.CryptoError, UnicodeDecodeError):
                continue
        # Never name the value: the error may end up in a log line or a dead letter.
        raise Unsealable("sealed to a key this notifier does not hold (rotated too early?)")


# ---------------------------------------------------------------- key files (CLI)


def create(directory: Path) -> tuple[Path, bool]:
    """Write a key pair unless one is there: (private key path, created?)."""
    private = directory / PRIVATE_FILE
    if private.exists():
        return private, False
    _write_pair(directory, *generate())
    return private, True


def rotate(directory: Path) -> Path:
    """A new pair; the current private key becomes the previous one (still opens)."""
    private = directory / PRIVATE_FILE
    if not private.exists():
        raise ValueError(f"no {PRIVATE_FILE} in {directory}: create one first")
    _write_secret(directory / PREVIOUS_FILE, private.read_text())
    _write_pair(directory, *generate())
    return private


def retire(directory: Path) -> bool:
    """Forget the previous private key (once no mail sealed to it can be pending)."""
    previous = directory / PREVIOUS_FILE
    if not previous.exists():
        return False
    previous.unlink()
    return True


def _write_pair(directory: Path, private: str, public: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _write_secret(directory / PRIVATE_FILE, private + "\n")
    (directory / PUBLIC_FILE).write_text(public + "\n")


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()

"""Crypto-shredding (issue 30, docs/privacy.md): personal data is written sealed
under a key per person, and destroying that key erases the person everywhere
the ciphertext went — event stores, JetStream streams, backups.

- A **data key** (`DataKey`, 32 random bytes, AES-256-GCM) per person. It is
  stored only wrapped by a **key-encryption key** (`KeyEncryptionKeys`, from
  `HELPDESK_PRIVACY_KEK`), with the person's id as associated data, so a
  wrapped key cannot be moved to another person's row.
- A **personal field** is declared in its contract with `Personal` metadata:
  `subject: Annotated[str, Personal("requester.user_id", erased="")]` — whose
  key seals it (a dotted path to that person's id in the same event) and what a
  reader gets once the key is gone. Nested models declare their own (a
  `Contact`'s name and e-mail belong to its `user_id`).
- A sealed value is the text `pd1:<key id>:<nonce + ciphertext, base64url>`;
  the associated data is the event id and the field's path, so a ciphertext
  cannot be replayed into another event or field.

Everything here is pure (no I/O); where keys come from is the `KeyRing`
port's business.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import functools
import hashlib
import hmac
import json
import os
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel

from helpdesk.contracts.personal import Personal

__all__ = ["Personal"]  # declared with the contracts, re-exported for the kit

KEY_BYTES = 32
NONCE_BYTES = 12
SEALED_PREFIX = "pd1:"


class PrivacyError(ValueError):
    """A key or a sealed value that cannot be used (damaged, or not what it claims)."""


@dataclass(frozen=True)
class DataKey:
    """One person's data key; `secret` never appears in a repr or a log line."""

    key_id: UUID
    person_id: UUID
    secret: bytes = field(repr=False)

    @classmethod
    def new(cls, key_id: UUID, person_id: UUID) -> DataKey:
        return cls(key_id=key_id, person_id=person_id, secret=AESGCM.generate_key(256))


@dataclass(frozen=True)
class WrappedKey:
    """A data key as stored: sealed by the key-encryption key `kek_id`."""

    kek_id: str
    blob: bytes


@functools.lru_cache(maxsize=4096)
def _aead(secret: bytes) -> AESGCM:
    """The cipher of a data key, made once (building one per value was a third of
    the cost of sealing an event: docs/performance.md)."""
    return AESGCM(secret)


def kek_id(kek: bytes) -> str:
    """A key-encryption key's name in the store: not secret, and stable."""
    return hashlib.sha256(b"helpdesk-kek\x00" + kek).hexdigest()[:16]


class KeyEncryptionKeys:
    """`HELPDESK_PRIVACY_KEK`: one or more base64 32-byte keys, comma-separated.
    The first wraps new data keys; every one of them unwraps. Rotation: put the
    new key first, run `helpdesk privacy-rewrap`, then drop the old one."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise PrivacyError("at least one key-encryption key is needed")
        for key in keys:
            if len(key) != KEY_BYTES:
                raise PrivacyError(f"a key-encryption key is {KEY_BYTES} bytes")
        self._by_id = {kek_id(k): AESGCM(k) for k in keys}
        self.current_id = kek_id(keys[0])
        self._keys = tuple(keys)

    @classmethod
    def parse(cls, value: str) -> KeyEncryptionKeys:
        keys = []
        for part in value.split(","):
            try:
                keys.append(base64.b64decode(part.strip(), validate=True))
            except binascii.Error as exc:
                raise PrivacyError("a key-encryption key is standard base64") from exc
        return cls(keys)

    @staticmethod
    def generate() -> str:
        """A new key, as the setting writes it."""
        return base64.b64encode(os.urandom(KEY_BYTES)).decode()

    def wrap(self, key: DataKey) -> WrappedKey:
        nonce = os.urandom(NONCE_BYTES)
        aad = key.person_id.bytes + key.key_id.bytes
        blob = nonce + self._by_id[self.current_id].encrypt(nonce, key.secret, aad)
        return WrappedKey(kek_id=self.current_id, blob=blob)

    def derived(self, label: bytes) -> tuple[bytes, ...]:
        """A key of its own for another use of the KEKs (signing links: `SignedTokens`),
        one per KEK in their order, so the first is current and a rotation keeps the
        others' tokens valid: HKDF-SHA256 with `label` as its info. Never the KEK itself."""
        return tuple(
            HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label).derive(key)
            for key in self._keys
        )

    def unwrap(self, key_id: UUID, person_id: UUID, wrapped: WrappedKey) -> DataKey:
        kek = self._by_id.get(wrapped.kek_id)
        if kek is None:
            raise PrivacyError(f"key-encryption key {wrapped.kek_id} is not configured")
        nonce, sealed = wrapped.blob[:NONCE_BYTES], wrapped.blob[NONCE_BYTES:]
        try:
            secret = kek.decrypt(nonce, sealed, person_id.bytes + key_id.bytes)
        except InvalidTag as exc:
            raise PrivacyError(f"the wrapped key {key_id} does not open") from exc
        return DataKey(key_id=key_id, person_id=person_id, secret=secret)


MAC_BYTES = 32  # HMAC-SHA256
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class SignedTokens:
    """Bearer tokens a service signs and another verifies, both holding the KEKs: a
    payload and its HMAC-SHA256 under keys `KeyEncryptionKeys.derived(label)`, written
    as URL-safe base64 without padding. The first key signs, every one verifies (a
    rotation keeps issued tokens good). A token is hostile input: one longer than
    `max_chars` is refused before it is decoded, and MACs are compared in constant time.
    The payload is not secret: whoever holds the token can read it."""

    def __init__(self, keys: Sequence[bytes], *, max_chars: int) -> None:
        if not keys:
            raise PrivacyError("at least one signing key is needed")
        self._keys = tuple(keys)
        self.max_chars = max_chars

    @classmethod
    def of(cls, keks: KeyEncryptionKeys, label: bytes, *, max_chars: int) -> SignedTokens:
        return cls(keks.derived(label), max_chars=max_chars)

    def sign(self, payload: bytes) -> str:
        mac = hmac.new(self._keys[0], payload, hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode("ascii")
        if len(token) > self.max_chars:
            raise PrivacyError(f"a signed token is at most {self.max_chars} characters")
        return token

    def open(self, token: str) -> bytes | None:
        """The payload of a token one of the keys signed; None for anything else
        (too long, not base64url, too short, forged, signed by a retired key)."""
        if len(token) > self.max_chars or not _BASE64URL.fullmatch(token):
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except binascii.Error:  # a length no base64 text has
            return None
        if len(raw) <= MAC_BYTES:
            return None
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        good = False
        for key in self._keys:  # every key is tried: the time does not tell which matched
            good |= hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest(), mac)
        return payload if good else None


def _aad(event_id: UUID, path: str) -> bytes:
    return event_id.bytes + path.encode()


def seal_value(key: DataKey, value: Any, *, event_id: UUID, path: str) -> str:
    """`value` (anything JSON can hold) sealed under `key` for this event and field."""
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    sealed = _aead(key.secret).encrypt(nonce, plain, _aad(event_id, path))
    text = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{SEALED_PREFIX}{key.key_id}:{text}"


def sealed_key_id(value: Any) -> UUID | None:
    """The key a sealed value needs; None for a value that is not sealed."""
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return None
    head, colon, _ = value[len(SEALED_PREFIX) :].partition(":")
    try:
        return UUID(head) if colon else None
    except ValueError:
        return None  # a plain text that merely starts like one


def open_value(key: DataKey, sealed: str, *, event_id: UUID, path: str) -> Any:
    text = sealed[len(SEALED_PREFIX) :].split(":", 1)[1]
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    try:
        plain = _aead(key.secret).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(event_id, path)
        )
    except InvalidTag as exc:
        raise PrivacyError(f"the sealed {path} does not open with key {key.key_id}") from exc
    return json.loads(plain)


# --- Which fields are personal -------------------------------------------------


@dataclass(frozen=True)
class PersonalField:
    """One personal field of a model: its name, whose it is, and the model of its
    value when that is itself a model with personal fields (a list of them too)."""

    name: str
    personal: Personal | None
    nested: type | None = None
    many: bool = False


def _nested_model(annotation: Any) -> tuple[type | None, bool]:
    """The model with personal fields inside `annotation` (`Contact`, `Contact | None`,
    `list[StoredFile]`), and whether it is a list."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _nested_model(typing.get_args(annotation)[0])
    if origin in (list, tuple, Sequence):
        inner, _ = _nested_model(typing.get_args(annotation)[0])
        return inner, True
    if origin is not None:  # a Union / Optional: the one model among its arms
        for arm in typing.get_args(annotation):
            inner, many = _nested_model(arm)
            if inner is not None:
                return inner, many
        return None, False
    if isinstance(annotation, type) and personal_fields(annotation):
        return annotation, False
    return None, False


def _marks(metadata: Sequence[Any]) -> Personal | None:
    return next((m for m in metadata if isinstance(m, Personal)), None)


_FIELDS: dict[type, tuple[PersonalField, ...]] = {}


def personal_fields(model: type) -> tuple[PersonalField, ...]:
    """The fields of a pydantic model or dataclass that are personal or hold a
    model with personal fields (computed once per class)."""
    if model in _FIELDS:
        return _FIELDS[model]
    _FIELDS[model] = ()  # a model that contains itself ends here
    found: list[PersonalField] = []
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, info in model.model_fields.items():
            mark = _marks(info.metadata)
            nested, many = (None, False) if mark else _nested_model(info.annotation)
            if mark or nested:
                found.append(PersonalField(name, mark, nested, many))
    elif dataclasses.is_dataclass(model):
        hints = typing.get_type_hints(model, include_extras=True)
        for f in dataclasses.fields(model):
            hint = hints[f.name]
            mark = _marks(getattr(hint, "__metadata__", ()))
            nested, many = (None, False) if mark else _nested_model(hint)
            if mark or nested:
                found.append(PersonalField(f.name, mark, nested, many))
    _FIELDS[model] = tuple(found)
    return _FIELDS[model]


def _owner(data: Mapping[str, Any], root: Mapping[str, Any], path: str) -> UUID | None:
    """The id at `path`: from the model's own data, or from the event's root (`/…`)."""
    value: Any = root if path.startswith("/") else data
    for part in path.removeprefix("/").split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return UUID(str(value)) if value is not None else None


@dataclass(frozen=True)
class Site:
    """Where one personal value sits in an event's JSON data."""

    container: dict[str, Any]
    name: str
    path: str  # from the event's root: the associated data
    owner: UUID | None
    personal: Personal


def personal_sites(
    model: type, data: dict[str, Any], prefix: str = "", root: dict[str, Any] | None = None
) -> Iterator[Site]:
    """Every personal value in `data` (the JSON form of a `model`), deepest last."""
    root = data if root is None else root
    for pf in personal_fields(model):
        if pf.name not in data:
            continue
        value = data[pf.name]
        path = f"{prefix}{pf.name}"
        if pf.personal is not None:
            owner = _owner(data, root, pf.personal.owner)
            yield Site(data, pf.name, path, owner, pf.personal)
        elif pf.nested is not None and value is not None:
            items = value if pf.many else [value]
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    inner = f"{path}.{i}." if pf.many else f"{path}."
                    yield from personal_sites(pf.nested, item, inner, root)


# --- Sealing and opening whole events -----------------------------------------


class KeyRing(Protocol):
    """Where data keys come from (identity's keystore, directly or over NATS)."""

    async def key_for(self, person_id: UUID) -> DataKey | None:
        """The person's key, made on first use (for writing); None once destroyed."""
        ...

    async def keys(self, key_ids: set[UUID]) -> Mapping[UUID, DataKey]:
        """The keys that still exist among `key_ids` (for reading); a destroyed
        key is simply absent."""
        ...


async def seal_event(
    model: type,
    data: dict[str, Any],
    event_id: UUID,
    ring: KeyRing,
    *,
    plain_only: bool = False,
    default_owner: UUID | None = None,
) -> dict[str, Any]:
    """A copy of `data` with every personal value sealed under its owner's key
    (a value with no owner, or None, stays as it is). A value of someone already
    erased is written as its field's `erased` value. The writers' data is plain
    whatever it looks like (a user may type "pd1:…"); `plain_only` is for
    re-sealing stored events, whose values that look sealed are left alone.
    `default_owner`: whose a value is when its event does not name them (the
    person whose stream it is, e.g. identity's `user-<id>`)."""
    sealed = copy.deepcopy(data)
    due = []
    for site in personal_sites(model, sealed):
        value = site.container[site.name]
        owner = site.owner or default_owner
        if owner is None or value is None:
            continue
        if plain_only and sealed_key_id(value) is not None:
            continue
        due.append((site, owner))
    # One key per owner, asked in a fixed order: writers that make the keys of the
    # same new people in their transactions take the rows' locks alike (no deadlock).
    keys = {owner: await ring.key_for(owner) for owner in sorted({o for _, o in due})}
    for site, owner in due:
        value, key = site.container[site.name], keys[owner]
        site.container[site.name] = (
            seal_value(key, value, event_id=event_id, path=site.path)
            if key is not None
            else site.personal.erased
        )
    return sealed


def sealed_keys(model: type, data: dict[str, Any]) -> set[UUID]:
    """The keys an event's personal values need."""
    found = set()
    for site in personal_sites(model, data):
        key_id = sealed_key_id(site.container[site.name])
        if key_id is not None:
            found.add(key_id)
    return found


async def open_event(
    model: type, data: dict[str, Any], event_id: UUID, ring: KeyRing
) -> dict[str, Any]:
    """A copy of `data` with every sealed value opened, or replaced by its
    field's `erased` value where the key no longer exists."""
    needed = sealed_keys(model, data)
    if not needed:
        return data
    keys = await ring.keys(needed)
    opened = copy.deepcopy(data)
    for site in list(personal_sites(model, opened)):
        value = site.container[site.name]
        key_id = sealed_key_id(value)
        if key_id is None:
            continue
        key = keys.get(key_id)
        site.container[site.name] = (
            open_value(key, value, event_id=event_id, path=site.path)
            if key is not None
            else site.personal.erased
        )
    return opened

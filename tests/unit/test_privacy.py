"""Crypto-shredding's pure half (servicekit/privacy.py): keys wrapped by the
key-encryption keys, personal fields found from the contracts' metadata, sealed
per event and field, and opened — or erased once the key is gone."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel

from helpdesk.servicekit.privacy import (
    DataKey,
    KeyEncryptionKeys,
    Personal,
    PrivacyError,
    WrappedKey,
    open_event,
    open_value,
    seal_event,
    seal_value,
    sealed_keys,
)


class Person(BaseModel):
    user_id: UUID
    name: Annotated[str | None, Personal("user_id")] = None
    email: Annotated[str | None, Personal("user_id")] = None


class Wrote(BaseModel):
    ticket_id: UUID
    requester: Person
    subject: Annotated[str, Personal("requester.user_id", erased="")]
    files: list[Person] = []
    priority: str = "normal"


@dataclass(frozen=True)
class Replied:
    author: Person
    body: Annotated[str, Personal("author.user_id", erased="")]


class MemoryRing:
    """Keys in a dict; `destroy` is what an erasure does to the keystore."""

    def __init__(self) -> None:
        self.by_person: dict[UUID, DataKey] = {}
        self.erased: set[UUID] = set()

    async def key_for(self, person_id: UUID) -> DataKey | None:
        if person_id in self.erased:
            return None
        if person_id not in self.by_person:
            self.by_person[person_id] = DataKey.new(uuid4(), person_id)
        return self.by_person[person_id]

    async def keys(self, key_ids: set[UUID]) -> Mapping[UUID, DataKey]:
        return {k.key_id: k for k in self.by_person.values() if k.key_id in key_ids}

    def destroy(self, person_id: UUID) -> None:
        del self.by_person[person_id]
        self.erased.add(person_id)


def event(requester: UUID, other: UUID) -> dict[str, object]:
    return Wrote(
        ticket_id=uuid4(),
        requester=Person(user_id=requester, name="Μαρία Π.", email="maria@example.gr"),
        subject="Ο εκτυπωτής της Μαρίας",
        files=[Person(user_id=other, name="Κώστας", email="k@example.gr")],
    ).model_dump(mode="json")


async def test_personal_values_are_sealed_and_open_again() -> None:
    ring, maria, kostas, event_id = MemoryRing(), uuid4(), uuid4(), uuid4()
    data = event(maria, kostas)
    sealed = await seal_event(Wrote, data, event_id, ring)
    text = json.dumps(sealed, ensure_ascii=False)
    for plain in ("Μαρία", "maria@example.gr", "εκτυπωτής", "Κώστας", "k@example.gr"):
        assert plain not in text
    # What is not personal stays readable: ids, priorities.
    assert sealed["priority"] == "normal"
    assert sealed["requester"]["user_id"] == str(maria)
    assert sealed_keys(Wrote, sealed) == {
        ring.by_person[maria].key_id,
        ring.by_person[kostas].key_id,
    }
    assert await open_event(Wrote, sealed, event_id, ring) == data
    assert data["subject"] == "Ο εκτυπωτής της Μαρίας"  # the input is not changed


async def test_a_destroyed_key_erases_only_that_persons_values() -> None:
    ring, maria, kostas, event_id = MemoryRing(), uuid4(), uuid4(), uuid4()
    sealed = await seal_event(Wrote, event(maria, kostas), event_id, ring)
    ring.destroy(maria)
    opened = Wrote.model_validate(await open_event(Wrote, sealed, event_id, ring))
    assert (opened.requester.name, opened.requester.email, opened.subject) == (None, None, "")
    assert opened.files[0].name == "Κώστας"  # someone else's stays


async def test_an_erased_persons_new_values_are_written_erased() -> None:
    ring, maria, kostas = MemoryRing(), uuid4(), uuid4()
    await ring.key_for(maria)
    ring.destroy(maria)
    sealed = await seal_event(Wrote, event(maria, kostas), uuid4(), ring)
    assert (sealed["requester"]["name"], sealed["subject"]) == (None, "")
    assert "Κώστας" not in json.dumps(sealed, ensure_ascii=False)


async def test_dataclass_events_are_sealed_too() -> None:
    ring, author, event_id = MemoryRing(), uuid4(), uuid4()
    data = {"author": {"user_id": str(author), "name": "Άννα", "email": None}, "body": "Γεια"}
    sealed = await seal_event(Replied, data, event_id, ring)
    assert "Γεια" not in json.dumps(sealed, ensure_ascii=False)
    assert sealed["author"]["email"] is None  # nothing to hide in a None
    assert await open_event(Replied, sealed, event_id, ring) == data


async def test_a_ciphertext_opens_only_in_its_own_event_and_field() -> None:
    key, event_id = DataKey.new(uuid4(), uuid4()), uuid4()
    sealed = seal_value(key, "μυστικό", event_id=event_id, path="subject")
    assert open_value(key, sealed, event_id=event_id, path="subject") == "μυστικό"
    with pytest.raises(PrivacyError):
        open_value(key, sealed, event_id=uuid4(), path="subject")
    with pytest.raises(PrivacyError):
        open_value(key, sealed, event_id=event_id, path="requester.name")


def test_data_keys_are_wrapped_for_their_person_and_rotate() -> None:
    old, new = KeyEncryptionKeys.generate(), KeyEncryptionKeys.generate()
    before = KeyEncryptionKeys.parse(old)
    key = DataKey.new(uuid4(), uuid4())
    wrapped = before.wrap(key)
    assert key.secret not in wrapped.blob
    assert before.unwrap(key.key_id, key.person_id, wrapped) == key
    # Moved to another person's row, it does not open.
    with pytest.raises(PrivacyError):
        before.unwrap(key.key_id, uuid4(), wrapped)
    # Rotation: the new key wraps, the old one still unwraps until it is dropped.
    during = KeyEncryptionKeys.parse(f"{new},{old}")
    assert during.unwrap(key.key_id, key.person_id, wrapped) == key
    rewrapped = during.wrap(key)
    assert rewrapped.kek_id == during.current_id != wrapped.kek_id
    after = KeyEncryptionKeys.parse(new)
    assert after.unwrap(key.key_id, key.person_id, rewrapped) == key
    with pytest.raises(PrivacyError, match="not configured"):
        after.unwrap(key.key_id, key.person_id, wrapped)
    assert repr(key.secret) not in repr(key)  # never in a log line


@pytest.mark.parametrize("value", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_key_encryption_key_is_refused(value: str) -> None:
    with pytest.raises(PrivacyError):
        KeyEncryptionKeys.parse(value)


def test_a_wrapped_key_with_a_damaged_blob_does_not_open() -> None:
    keks = KeyEncryptionKeys.parse(KeyEncryptionKeys.generate())
    key = DataKey.new(uuid4(), uuid4())
    wrapped = keks.wrap(key)
    damaged = WrappedKey(wrapped.kek_id, wrapped.blob[:-1] + bytes([wrapped.blob[-1] ^ 1]))
    with pytest.raises(PrivacyError):
        keks.unwrap(key.key_id, key.person_id, damaged)

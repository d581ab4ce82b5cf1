"""Privacy (issue 30, docs/privacy.md): the keystore's one request, and erasure.

Identity owns the keystore (a data key per person, wrapped by the key-encryption
key). The other services seal and open personal fields with keys they ask for
on `identity.keys.data_keys` — a subject only the services' NATS identities may
publish. The reply carries keys *wrapped*: each service unwraps them with its
own copy of `HELPDESK_PRIVACY_KEK`, so no usable key ever crosses the bus.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.messages import Kind, Request


class WrappedDataKey(BaseModel):
    key_id: UUID
    person_id: UUID
    kek_id: str
    wrapped: str  # standard base64 of nonce + AES-GCM ciphertext


class DataKeys(BaseModel):
    keys: list[WrappedDataKey]
    # Of `for_writing`: the people erased (their values are written erased).
    erased: list[UUID] = Field(default_factory=list)


class GetDataKeys(Request[DataKeys]):
    """Keys to seal with (`for_writing`: person ids; identity makes a key on first
    use) and to open with (`for_reading`: key ids; a destroyed key is absent)."""

    service: ClassVar[str | None] = "identity"
    kind: ClassVar[Kind] = "keys"
    verb: ClassVar[str] = "data_keys"

    for_writing: list[UUID] = Field(default_factory=list, max_length=100)
    for_reading: list[UUID] = Field(default_factory=list, max_length=1000)


ErasureReason = Literal["request", "admin", "retention"]


class PersonalDataErased(EventData):
    """A person's key was destroyed: everything sealed under it is unreadable now,
    and every service scrubs what it holds of them in plaintext. Carries no
    personal data — only the id, which is not sealed anywhere."""

    producer: ClassVar[str] = "identity"
    aggregate: ClassVar[str] = "user"

    user_id: UUID
    erased_at: datetime
    reason: ErasureReason
    by: UUID | None = None  # the admin who confirmed; None for retention

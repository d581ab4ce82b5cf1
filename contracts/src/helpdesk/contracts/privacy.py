"""Privacy (issue 30, docs/privacy.md): the keystore's one request, and erasure.

Identity owns the keystore (a data key per person, wrapped by the key-encryption
key). The other services seal and open personal fields with keys they ask for
on `identity.keys.data_keys` — a subject only the services' NATS identities may
publish. The reply carries keys *wrapped*: each service unwraps them with its
own copy of `HELPDESK_PRIVACY_KEK`, so no usable key ever crosses the bus.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.identity import SERVICE, Username, _CallerCommand, _CallerQuery
from helpdesk.contracts.messages import AdminRequest, Kind, Request
from helpdesk.contracts.text import LINES, SINGLE_LINE


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

# The admin's reason: kept as the record of the erasure (who, when, why), so it
# must name nobody; the portal says so.
ErasureNote = Annotated[str, Field(min_length=3, max_length=500), SINGLE_LINE]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErasureRequestBody(_Body):
    """`POST /api/v1/me/erasure-request`: the caller asks to be forgotten."""

    # Lines of text, maybe none; no control characters (a NUL never reaches a table).
    note: Annotated[str, Field(max_length=500), LINES] | None = None


class ErasureBody(_Body):
    """`POST /api/v1/users/{id}/erase`: an admin erases a person, saying why."""

    reason: ErasureNote


class ErasureRequest(BaseModel):
    """A person's request to be erased, as admins see it (pending until decided)."""

    user_id: UUID
    name: str
    username: str
    email: str
    requested_at: datetime
    note: str | None = None


class ErasureRequests(BaseModel):
    items: list[ErasureRequest]


class ErasureAccepted(BaseModel):
    """The key is destroyed; every service scrubs its copies within a minute."""

    user_id: UUID
    erased_at: datetime
    status: Literal["erased"] = "erased"


class ErasureRequested(BaseModel):
    user_id: UUID
    requested_at: datetime
    status: Literal["pending"] = "pending"


class RequestErasure(_CallerCommand[ErasureRequested], ErasureRequestBody):
    """The caller asks to be erased; an admin confirms (docs/privacy.md)."""

    verb: ClassVar[str] = "request_erasure"


class ListErasureRequests(_CallerQuery[ErasureRequests]):
    """Admins only: the pending requests, oldest first."""

    verb: ClassVar[str] = "list_erasure_requests"


class EraseUser(_CallerCommand[ErasureAccepted], ErasureBody):
    """Admins only, never themselves: destroy the person's key and scrub them."""

    verb: ClassVar[str] = "erase_user"

    user_id: UUID


class OperatorEraseUser(AdminRequest[ErasureAccepted], ErasureBody):
    """The CLI's `helpdesk erase-user USERNAME --reason …`."""

    service: ClassVar[str | None] = SERVICE
    verb: ClassVar[str] = "users.erase"

    username: Username


class PersonalDataErased(EventData):
    """A person's key was destroyed: everything sealed under it is unreadable now,
    and every service scrubs what it holds of them in plaintext. Carries no
    personal data — only the id, which is not sealed anywhere."""

    producer: ClassVar[str] = "identity"
    aggregate: ClassVar[str] = "user"

    user_id: UUID
    erased_at: datetime
    reason: ErasureReason
    by: UUID | None = None  # the admin who confirmed; None for the operator or retention
    # The destroyed keys: a service finds what it holds of the person by them
    # (`pd1:<key id>:…` in its stored events), as key ids name nobody.
    key_ids: list[UUID] = Field(default_factory=list)


class RetentionApplied(EventData):
    """One run of a service's retention job (docs/privacy.md, "Retention"): what
    it erased, counted by kind (e.g. `unactivated_accounts`). No personal data."""

    producer: ClassVar[str] = "identity"
    aggregate: ClassVar[str] = "retention"
    verb: ClassVar[str] = "applied"

    at: datetime
    counts: dict[str, int]


class TicketsRetentionApplied(EventData):
    """One run of the tickets service's retention job: closed tickets past
    HELPDESK_RETENTION_CLOSED_DAYS whose texts and files expired (their numbers,
    priorities, queues and SLA facts stay). No personal data."""

    producer: ClassVar[str] = "tickets"
    aggregate: ClassVar[str] = "retention"
    verb: ClassVar[str] = "applied"

    at: datetime
    counts: dict[str, int]

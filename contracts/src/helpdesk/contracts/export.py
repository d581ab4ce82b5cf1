"""A person's data export (issue 30, GDPR Art. 15 and 20; docs/privacy.md, "Export").

The gateway asks each service that keeps something of the person for its part,
page by page, and streams the ZIP (`GET /api/v1/me/export`,
`GET /api/v1/users/{id}/export`). Every query names the verified caller and the
person: a caller may export themselves, an admin anyone; anyone else is refused
`forbidden`. Pages keep each reply small (a NATS message) and the gateway's
memory bounded: `cursor` is the previous page's `next_cursor`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Generic, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.messages import Query, ResultT
from helpdesk.contracts.replies import BadCursor, Refused

CURSOR_PATTERN = r"^[A-Za-z0-9_.:-]+$"


class NotAllowed(Refused):
    code = "forbidden"
    default_message = "Only the person themselves or an admin may export their data."


class _ExportQuery(Query[ResultT], Generic[ResultT]):
    """Whose data (`user_id`), asked by whom (`actor`: themselves or an admin)."""

    actor: Actor
    user_id: UUID
    cursor: str | None = Field(default=None, max_length=64, pattern=CURSOR_PATTERN)

    def ensure_allowed(self) -> None:
        """A person exports themselves; an admin exports anyone; else `NotAllowed`."""
        if self.actor.user_id != self.user_id and Role.ADMIN not in self.actor.roles:
            raise NotAllowed()

    def position(self) -> int:
        """The cursor of a service that pages by row number (0: from the start)."""
        if self.cursor is None:
            return 0
        if not self.cursor.isdigit():
            raise BadCursor()
        return int(self.cursor)


# --- identity: the account, its second factors, its sign-ins -------------------------------


class ExportedFactor(BaseModel):
    """A second factor by kind and date; never its secret, codes or keys."""

    kind: Literal["totp", "passkey", "recovery_codes"]
    added_at: datetime | None = None
    count: int = 1  # passkeys registered; recovery codes still unused


class AccountEvent(BaseModel):
    """One change of the account as identity recorded it (no values: the kind and when)."""

    at: datetime
    kind: str  # registered, activated, password_changed, roles_granted, ...


class ExportedSession(BaseModel):
    """One sign-in: when it started, was last renewed and ended (and why)."""

    started_at: datetime
    last_renewed_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None  # logout, password_changed, deactivated, ...
    expires_at: datetime | None = None


class FailedSignIn(BaseModel):
    """A wrong password for the account, from a client address (kept for rate limits)."""

    at: datetime
    client_address: str


class AccountExport(BaseModel):
    """The profile, with one page of sign-ins (`next_cursor`: more of them)."""

    user_id: UUID
    name: str
    username: str
    email: str
    locale: Literal["el", "en"]
    roles: list[Role]
    status: str
    source: str  # local, ldap, oidc, saml
    registered_at: datetime | None
    activated_at: datetime | None = None
    second_factors: list[ExportedFactor] = []
    history: list[AccountEvent] = []
    failed_sign_ins: list[FailedSignIn] = []
    sessions: list[ExportedSession] = []
    next_cursor: str | None = None


class ExportAccount(_ExportQuery[AccountExport]):
    """`not_found` for an unknown id (an admin's typo)."""

    service: ClassVar[str | None] = "identity"
    verb: ClassVar[str] = "export"  # -> identity.query.export


# --- tickets: the person's requests --------------------------------------------------------


AuthorRole = Literal["you", "agent", "another_person", "helpdesk"]


class ExportedEntry(BaseModel):
    """One entry of a ticket's public timeline. Another non-agent person's entry is
    kept redacted: `author_role` "another_person", no author, body or details."""

    at: datetime
    kind: str  # TicketSubmitted, TicketMessageAdded, TicketStatusChanged, ...
    author: str | None = None  # the name (agents act in a professional role)
    author_role: AuthorRole = "helpdesk"
    body: str | None = None
    details: dict[str, str | None] = {}


class ExportedRating(BaseModel):
    at: datetime
    rating: int
    comment: str | None = None
    resolution: int


class ExportedFile(BaseModel):
    """A public, not removed attachment of the ticket; its bytes come from the object
    store (`sha256` names the object)."""

    attachment_id: UUID
    file_name: str
    original_name: str
    size: int
    content_type: str
    sha256: str
    added_at: datetime
    added_by: AuthorRole


class ExportedTicket(BaseModel):
    ticket_id: UUID
    number: str
    subject: str
    description: str
    priority: str
    category: str | None
    status: str
    queue: str
    channel: str  # portal, mail, agent (opened on the person's behalf)
    opened_by: str | None = None  # the agent's name, for a ticket opened on behalf
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    timeline: list[ExportedEntry]
    ratings: list[ExportedRating] = []
    files: list[ExportedFile] = []


class TicketsExport(BaseModel):
    items: list[ExportedTicket]
    next_cursor: str | None = None


class ExportTickets(_ExportQuery[TicketsExport]):
    """The tickets the person requested (or that were opened on their behalf), newest
    first, a few per page."""

    service: ClassVar[str | None] = "tickets"
    verb: ClassVar[str] = "export"  # -> tickets.query.export


# --- notifier: the mails sent to them ------------------------------------------------------


class ExportedMail(BaseModel):
    """One mail the notifier recorded for the person's address. Subject and text exist
    only while the mail waits to be sent (a sent mail's message is not kept)."""

    template: str  # what kind of mail: ticket_submitted, password_reset, ...
    recipient: str
    status: str  # pending, sent, bounced, expired
    queued_at: datetime
    sent_at: datetime | None = None
    attachments: list[str] = []  # file names the mail carried
    subject: str | None = None
    body: str | None = None
    error: str | None = None  # the mail server's answer, for a mail not delivered


class MailsExport(BaseModel):
    items: list[ExportedMail]
    next_cursor: str | None = None


class ExportMails(_ExportQuery[MailsExport]):
    """The notifier keeps no accounts: it is told the person's addresses (from
    identity's answer to `ExportAccount`, which proved the caller may ask)."""

    service: ClassVar[str | None] = "notifier"
    verb: ClassVar[str] = "export"  # -> notifier.query.export

    addresses: list[str] = Field(min_length=1, max_length=10)

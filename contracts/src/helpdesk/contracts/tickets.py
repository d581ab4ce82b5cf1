"""Contracts of the tickets service: commands, queries, their results, and events.

Every command and query carries the verified caller (`actor`), passed by the
gateway. Events are published on `tickets.events.ticket.<snake_event>`;
`TicketSubmitted` and `TicketPriorityChanged` add the priority as a last token
(`tickets.events.ticket.submitted.urgent`) so a pager can subscribe to the
serious ones only.

Longer than our ~350-line module aim on purpose: it is the service's vocabulary
(one small class per message, no logic), read top to bottom like a catalogue.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.files import FILES_PER_REQUEST_MAX, StoredFile
from helpdesk.contracts.messages import Command, MailCommand, Query, ResultT
from helpdesk.contracts.personal import REQUESTERS, Personal
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.text import SINGLE_LINE, TEXT

SERVICE = "tickets"

SUBJECT_MAX = 200
DESCRIPTION_MAX = 20_000
MESSAGE_MAX = 20_000


class TicketStatus(StrEnum):
    SUBMITTED = "submitted"  # new, no agent has acted on it yet
    OPEN = "open"
    PENDING = "pending"  # waiting on the requester: the resolution clock pauses
    RESOLVED = "resolved"
    CLOSED = "closed"


class Category(StrEnum):
    SOFTWARE = "software"
    NETWORK = "network"
    HARDWARE = "hardware"  # hardware & peripherals
    SERVER_EMAIL = "server_email"
    WEBSITE = "website"
    OTHER = "other"


CATEGORY_LABELS: dict[Category, dict[str, str]] = {
    Category.SOFTWARE: {"el": "Λογισμικό", "en": "Software"},
    Category.NETWORK: {"el": "Δίκτυο", "en": "Network"},
    Category.HARDWARE: {"el": "Υλικό & περιφερειακά", "en": "Hardware & peripherals"},
    Category.SERVER_EMAIL: {"el": "Server & e-mail", "en": "Server & e-mail"},
    Category.WEBSITE: {"el": "Ιστότοπος", "en": "Website"},
    Category.OTHER: {"el": "Άλλο", "en": "Other"},
}


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class SlaClock(StrEnum):
    BUSINESS_HOURS = "business_hours"
    ALWAYS = "24/7"


TicketSubject = Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX), SINGLE_LINE]
TicketDescription = Annotated[str, Field(min_length=1, max_length=DESCRIPTION_MAX), TEXT]
MessageBody = Annotated[str, Field(min_length=1, max_length=MESSAGE_MAX), TEXT]
# A user as an agent names them: their username or their e-mail address.
RequesterLogin = Annotated[str, Field(min_length=1, max_length=254), SINGLE_LINE]
ASSIGN_REASON_MAX = 500
AssignReason = Annotated[str, Field(min_length=1, max_length=ASSIGN_REASON_MAX), SINGLE_LINE]


# --- results ------------------------------------------------------------------------------


class Channel(StrEnum):
    """How a ticket came in."""

    PORTAL = "portal"  # the portal or the REST API, by the requester
    MAIL = "mail"  # a mail to a support address
    AGENT = "agent"  # an agent opened it on behalf of the requester


class Submitted(BaseModel):
    ticket_id: UUID
    number: str
    status: TicketStatus
    priority: Priority
    queue: str
    first_response_due: datetime | None
    resolution_due: datetime | None
    requester_id: UUID | None = None  # set in a mail's answer: whose mail the mailgate keeps


class Person(BaseModel):
    user_id: UUID
    name: str | None = None


class TicketSummary(BaseModel):
    ticket_id: UUID
    number: str
    subject: str
    status: TicketStatus
    priority: Priority
    category: Category | None
    queue: str
    requester: Person
    assignee: Person | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    # SLA time left at the answer, in the SLA clock's minutes (business minutes on
    # the business-hours clock); negative: overdue by that much (docs/workspace.md).
    first_response_left_minutes: float | None = None
    resolution_left_minutes: float | None = None
    business_time: bool = False


class TimelineEntry(BaseModel):
    at: datetime
    kind: str  # the event type: TicketSubmitted, TicketMessageAdded, ...
    author: Person | None = None
    body: str | None = None
    internal: bool = False
    details: dict[str, str | None] = {}


class TicketDetail(TicketSummary):
    description: str
    first_responded_at: datetime | None
    timeline: list[TimelineEntry]
    # The end of the ticket (docs/workspace.md): its latest resolution, until when
    # its requester may reopen it, and whether that resolution is rated.
    resolved_at: datetime | None = None
    reopen_until: datetime | None = None
    auto_close_at: datetime | None = None
    rated: bool = False
    # How it came in, who opened it for the requester, and (agents only) the
    # requester's e-mail: the requester's context beside the ticket.
    channel: Channel = Channel.PORTAL
    opened_by: Person | None = None
    requester_email: str | None = None
    # The statuses the caller may move it to now (the composer offers only these).
    next_statuses: list[TicketStatus] = []


class TicketList(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None = None


class MessageAdded(BaseModel):
    ticket_id: UUID
    message_id: UUID
    status: TicketStatus
    # Set in a mail's answer: its sender and the ticket's requester (mailgate erasure).
    author_id: UUID | None = None
    requester_id: UUID | None = None


class SlaTargetInfo(BaseModel):
    first_response_minutes: int
    resolution_minutes: int
    clock: SlaClock
    first_response: str  # as written in the policy, e.g. "8 business hours"
    resolution: str


class PriorityInfo(BaseModel):
    key: Priority
    label: dict[str, str]  # locale -> label (Greek verbatim from the FAQ)
    description: dict[str, str]
    queue: str
    queue_label: dict[str, str] = {}  # locale -> the queue's name for people
    page: bool
    sla: SlaTargetInfo


class PriorityList(BaseModel):
    items: list[PriorityInfo]


class _TicketsCommand(Command[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


class _TicketsQuery(Query[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


class _OneTicket(BaseModel):
    """A request about one ticket, by a verified caller."""

    actor: Actor
    ticket_id: UUID


class _OneTicketCommand(_OneTicket, _TicketsCommand[ResultT], Generic[ResultT]):
    pass


class _OneTicketQuery(_OneTicket, _TicketsQuery[ResultT], Generic[ResultT]):
    pass


class _TicketsMailCommand(MailCommand[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


# --- what clients send ---------------------------------------------------------------------
# The REST bodies (the gateway serves these very models); each command adds the
# verified caller and, where it acts on one, the ticket from the URL.


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TicketDraft(_Body):
    subject: TicketSubject
    description: TicketDescription
    priority: Priority
    category: Category | None = None
    # Agents only: open the ticket for this employee (username or e-mail), who is
    # its requester and gets the usual confirmation (docs/workspace.md).
    requester: RequesterLogin | None = None


class MessageDraft(_Body):
    """A reply (public) or, for agents only, an internal note."""

    body: MessageBody
    internal: bool = False


class StatusChange(_Body):
    status: TicketStatus


class PriorityChange(_Body):
    priority: Priority


class Assignment(_Body):
    """Assign to `assignee_id` (the caller when omitted).

    A ticket that already has another assignee is only taken over with
    `reassign=true`; otherwise the reply is 409 `already_assigned` — which is
    also what the loser of two simultaneous assigns gets.
    """

    assignee_id: UUID | None = None
    reassign: bool = False
    # Why it moves (shown on the timeline, told to the new assignee); for a
    # reassignment, which takes a ticket from a colleague.
    reason: AssignReason | None = None


class TicketUpdate(_Body):
    """The agent's composer: a reply or note and the ticket's fields, in one submit
    saved as one batch of events — all of it or none (docs/workspace.md)."""

    body: MessageBody | None = None
    internal: bool = False
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: UUID | None = None  # take it or give it to a member of the queue
    unassign: bool = False
    reason: AssignReason | None = None  # why it moves (assignee_id or unassign)

    @model_validator(mode="after")
    def _something_to_do(self) -> TicketUpdate:
        if self.unassign and self.assignee_id is not None:
            raise ValueError("either assignee_id or unassign, not both")
        if self.internal and self.body is None:
            raise ValueError("an internal note needs a body")
        changes = (self.body, self.status, self.priority, self.assignee_id)
        if all(c is None for c in changes) and not self.unassign:
            raise ValueError("nothing to change")
        return self


class Reopening(_Body):
    """The requester within the reopen window after resolution, or an agent."""

    reason: AssignReason | None = None


RATING_COMMENT_MAX = 2_000


class Satisfaction(_Body):
    """The requester's rating of a resolution (once per resolution)."""

    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, Field(min_length=1, max_length=RATING_COMMENT_MAX), TEXT] | None = None


class Unassignment(_Body):
    """Give the ticket back to its queue (its policy may assign it to someone else)."""

    reason: AssignReason | None = None


# --- commands -----------------------------------------------------------------------------


QUEUE_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"  # the URL-safe base64 of `next_cursor`


# The client's `Idempotency-Key` header (IETF httpapi draft): printable ASCII.
IdempotencyKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="The same key from the same user within 24 h: the first answer, "
        "nothing created again",
    ),
]


class SubmitTicket(_TicketsCommand[Submitted], TicketDraft):
    verb: ClassVar[str] = "submit"

    actor: Actor
    idempotency_key: IdempotencyKey = None


class _WithStoredFiles(BaseModel):
    """A message that may carry files the gateway stored for it (the portal's reply
    form): recorded with it in one transaction, and a public reply's mail carries
    them."""

    idempotency_key: IdempotencyKey = None
    files: list[StoredFile] = Field(default_factory=list, max_length=FILES_PER_REQUEST_MAX)


class AddMessage(_WithStoredFiles, _OneTicketCommand[MessageAdded], MessageDraft):
    """A reply (public) or, for agents only, an internal note."""

    verb: ClassVar[str] = "add_message"


class ChangeStatus(_OneTicketCommand[TicketSummary], StatusChange):
    verb: ClassVar[str] = "change_status"


class ChangePriority(_OneTicketCommand[TicketSummary], PriorityChange):
    verb: ClassVar[str] = "change_priority"


class AssignTicket(_OneTicketCommand[TicketSummary], Assignment):
    """Assign to `assignee_id` (the caller when omitted); see `Assignment`."""

    verb: ClassVar[str] = "assign"


class UpdateTicket(_WithStoredFiles, _OneTicketCommand[TicketSummary], TicketUpdate):
    verb: ClassVar[str] = "update"


class ReopenTicket(_OneTicketCommand[TicketSummary], Reopening):
    verb: ClassVar[str] = "reopen"


class StreamChange(BaseModel):
    """The data of one `event: ticket` of the live stream (GET /api/v1/stream): a
    change to a ticket the caller may see. Ids only: names and texts travel sealed."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: UUID
    number: str
    kind: str = Field(description="the event's type, e.g. TicketMessageAdded")
    at: str = Field(description="when it happened (ISO 8601)")
    # Present when the change set them:
    status: str | None = None
    to_status: str | None = None
    priority: str | None = None
    queue: str | None = None
    assignee_id: UUID | None = None


class Rated(BaseModel):
    ticket_id: UUID
    rating: int
    resolution: int  # which resolution of the ticket was rated (1 = the first)


class RateTicket(_OneTicketCommand[Rated], Satisfaction):
    verb: ClassVar[str] = "rate"


class UnassignTicket(_TicketsCommand[TicketSummary], Unassignment):
    """Agents only; a ticket without an assignee is left as it is."""

    verb: ClassVar[str] = "unassign"

    actor: Actor
    ticket_id: UUID


# --- the signed rating link of a resolution mail (docs/workspace.md) -----------------------
# The notifier signs it when it writes the mail; the tickets service verifies it and rates
# as the requester. No `actor`: the link is the proof, so nobody needs to sign in.

RATING_LINK_KEY_LABEL = b"helpdesk rating link v1"  # HKDF info of its key (privacy.py)
RATING_LINK_LIFETIME = timedelta(days=30)  # from the mail's event (the resolution)
RATING_TOKEN_MAX = 200  # characters; a real one has 103

RatingToken = Annotated[
    str,
    Field(min_length=1, max_length=RATING_TOKEN_MAX, pattern=CURSOR_PATTERN),
]


class RatingLink(BaseModel):
    """What a rating link says, signed: this ticket's requester may rate its
    `resolution`-th resolution until `expires_at`. Its bytes are fixed-width (a
    version byte, two UUIDs, the resolution, the expiry in Unix seconds)."""

    model_config = ConfigDict(frozen=True)

    _LAYOUT: ClassVar[struct.Struct] = struct.Struct(">B16sI16sq")
    _VERSION: ClassVar[int] = 1

    ticket_id: UUID
    resolution: int = Field(ge=1, le=2**32 - 1)
    requester_id: UUID
    expires_at: datetime

    def to_bytes(self) -> bytes:
        return self._LAYOUT.pack(
            self._VERSION,
            self.ticket_id.bytes,
            self.resolution,
            self.requester_id.bytes,
            int(self.expires_at.timestamp()),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RatingLink | None:
        """The link in a verified payload; None for any other layout or version."""
        if len(data) != cls._LAYOUT.size:
            return None
        version, ticket, resolution, requester, expires = cls._LAYOUT.unpack(data)
        if version != cls._VERSION or resolution < 1:
            return None
        return cls(
            ticket_id=UUID(bytes=ticket),
            resolution=resolution,
            requester_id=UUID(bytes=requester),
            expires_at=datetime.fromtimestamp(expires, UTC),
        )


class RatingLinkInfo(BaseModel):
    """What the rating page may show to whoever holds the link: no personal text."""

    number: str
    resolution: int
    expires_at: datetime


class GetRatingLink(_TicketsQuery[RatingLinkInfo]):
    """The ticket a rating link rates, if it still may (refusals as `RateByLink`'s)."""

    verb: ClassVar[str] = "rating_link"

    token: RatingToken


class RateByLink(_TicketsCommand[Rated], Satisfaction):
    """Rate with a signed link: 400 `invalid_token` (forged, expired, damaged), 409
    `conflict` (this resolution is rated), 409 `invalid_transition` (the ticket was
    reopened or resolved again since: the latest mail has the current link)."""

    verb: ClassVar[str] = "rate_by_link"

    token: RatingToken


# --- from the mail gateway ----------------------------------------------------------------
# A mail has no access token: these commands name the sender by address, and the
# tickets service resolves it in its users projection (active users only). They
# travel on `tickets.mail.*`, which only the mailgate's NATS identity may publish
# (nats_auth.py): that identity is the proof (docs/mail.md).

MailAddress = Annotated[str, Field(min_length=3, max_length=254), SINGLE_LINE]
# The mail's Message-ID (or its SHA-256 when it has none): the same mail twice is one
# ticket or message.
MailId = Annotated[str, Field(min_length=1, max_length=998), SINGLE_LINE]


class SubmitFromMail(_TicketsMailCommand[Submitted]):
    """A mail that answers no thread: a new ticket (priority normal, category other).

    Refused `unknown_sender` when no active user has the sender's address."""

    verb: ClassVar[str] = "submit"  # -> tickets.mail.submit

    sender: MailAddress
    mail_id: MailId
    subject: TicketSubject
    description: TicketDescription


class ReplyFromMail(_TicketsMailCommand[MessageAdded]):
    """A mail answering a ticket: a public message by the requester or an agent.

    The ticket is named by `ticket_id` (from a signed reply address or thread
    reference) or else by `number` (from the subject). Refused `unknown_sender`,
    `not_participant` (the sender is neither the requester nor an agent),
    `not_found`, `ticket_closed`."""

    verb: ClassVar[str] = "reply"  # -> tickets.mail.reply

    sender: MailAddress
    mail_id: MailId
    ticket_id: UUID | None = None
    number: str | None = Field(default=None, pattern=r"^HD-\d{4}-\d{6}$")
    body: MessageBody


# --- queries ------------------------------------------------------------------------------


class GetTicket(_OneTicketQuery[TicketDetail]):
    verb: ClassVar[str] = "get"


class ListTickets(_TicketsQuery[TicketList]):
    """Customers get their own tickets; agents their queues (every queue with
    `all_queues`, or if they are a member of none), soonest due first."""

    verb: ClassVar[str] = "list"

    actor: Actor
    all_queues: bool = False
    priority: Priority | None = None
    status: TicketStatus | None = None
    # A queue name as the routing policy spells them: nothing else can match a queue.
    queue: str | None = Field(default=None, max_length=64, pattern=QUEUE_PATTERN)
    assignee_id: UUID | None = None
    unassigned: bool = False
    requester_id: UUID | None = None  # agents: one requester's tickets, in every queue
    cursor: str | None = Field(default=None, max_length=64, pattern=CURSOR_PATTERN)
    limit: int = Field(default=50, ge=1, le=200)
    # The list as it was at that instant, folded from the events (docs/reports.md).
    as_of: datetime | None = None


class ListPriorities(_TicketsQuery[PriorityList]):
    verb: ClassVar[str] = "priorities"

    actor: Actor | None = None


# --- search (docs/search.md) ---------------------------------------------------------------

SEARCH_QUERY_MAX = 200

SearchQueryText = Annotated[str, Field(min_length=1, max_length=SEARCH_QUERY_MAX), SINGLE_LINE]


class SnippetPart(BaseModel):
    """A piece of a snippet, plain text; `match` marks the words the query found."""

    text: str
    match: bool = False


class TicketHit(TicketSummary):
    rank: float
    snippet: list[SnippetPart] = []
    # The same snippet as HTML: the text escaped, matches in <mark>…</mark>.
    snippet_html: str = ""


class TicketSearchResults(BaseModel):
    items: list[TicketHit]
    next_cursor: str | None = None


class SearchTickets(_TicketsQuery[TicketSearchResults]):
    """Full text over subject, description, public messages and, for agents only,
    internal notes (Greek and English stemming, accents and case ignored, words
    matched as prefixes, ticket numbers by suffix), ranked, with the list filters.
    Customers search their own tickets only."""

    verb: ClassVar[str] = "search"

    actor: Actor
    q: SearchQueryText
    priority: Priority | None = None
    status: TicketStatus | None = None
    queue: str | None = Field(default=None, max_length=64)
    assignee_id: UUID | None = None
    unassigned: bool = False
    cursor: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=20, ge=1, le=100)


# --- events -------------------------------------------------------------------------------


class Contact(BaseModel):
    """Who a mail about a ticket goes to, as the tickets service knew them."""

    model_config = ConfigDict(frozen=True)

    user_id: UUID
    name: Annotated[str | None, Personal("user_id")] = None
    email: Annotated[str | None, Personal("user_id")] = None
    locale: str = "el"


class SlaSchedule(BaseModel):
    """The running SLA deadlines after an event; `None` means stopped, met or paused."""

    model_config = ConfigDict(frozen=True)

    first_response_due: datetime | None = None
    first_response_warning_at: datetime | None = None
    resolution_due: datetime | None = None
    resolution_warning_at: datetime | None = None
    escalate_at: datetime | None = None  # critical: page again if still unacknowledged
    auto_close_at: datetime | None = None  # resolved: closes by itself then (docs/workspace.md)


# A ticket's text, sealed under its requester's key (contracts/personal.py).
RequesterText = Annotated[str, REQUESTERS]
OptionalRequesterText = Annotated[str | None, REQUESTERS]


class TicketEvent(EventData):
    """Base of the ticket events (not itself an event type). Schema 2 (issue 30):
    personal fields are sealed, and every event names its ticket's requester
    (`requester_id`), whose key seals the ticket's texts and file names."""

    schema_version: ClassVar[int] = 2

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls.producer = SERVICE
        cls.aggregate = "ticket"
        super().__init_subclass__(**kwargs)

    ticket_id: UUID
    number: str
    at: datetime
    requester_id: UUID | None = None  # None only in events stored before schema 2

    @classmethod
    def any_with(cls, priority: Priority) -> str:
        """Every ticket event whose subject ends in `priority` (submitted, re-prioritised)."""
        return f"{SERVICE}.events.ticket.*.{priority.value}"


class TicketSubmitted(TicketEvent):
    verb: ClassVar[str] = "submitted"
    subject_tokens: ClassVar[tuple[str, ...]] = ("priority",)

    requester: Contact
    subject_line: RequesterText
    description: RequesterText
    priority: Priority
    category: Category | None = None
    queue: str
    clock: SlaClock
    page: bool
    first_response_due: datetime | None
    resolution_due: datetime | None
    sla: SlaSchedule
    channel: Channel = Channel.PORTAL
    opened_by: Contact | None = None  # the agent, for a ticket opened on behalf


class TicketMessageAdded(TicketEvent):
    verb: ClassVar[str] = "message_added"

    message_id: UUID
    author: Contact
    by_agent: bool
    body: RequesterText
    internal: bool
    requester: Contact
    assignee: Contact | None = None
    first_response: bool = False  # the first public agent reply: the clock stopped
    status: TicketStatus  # the status after the message
    sla: SlaSchedule
    # The files that came with the message (also in the TicketAttachmentsAdded
    # beside it, `with_message`): one mail carries the reply and its files.
    files: list[StoredFile] = []


class TicketStatusChanged(TicketEvent):
    verb: ClassVar[str] = "status_changed"

    by: UUID  # AUTOMATIC when a resolved ticket closes by itself
    by_agent: bool
    from_status: TicketStatus
    to_status: TicketStatus
    requester: Contact
    subject_line: RequesterText
    sla: SlaSchedule
    note: OptionalRequesterText = None  # a reopen's reason
    # The resolution the ticket stands in after the change (1 = the first): set when it
    # is resolved, or closed after a resolution; None otherwise and in older events.
    resolution: int | None = None


class TicketPriorityChanged(TicketEvent):
    verb: ClassVar[str] = "priority_changed"
    subject_tokens: ClassVar[tuple[str, ...]] = ("priority",)

    by: UUID
    from_priority: Priority
    priority: Priority
    queue: str
    clock: SlaClock
    page: bool  # raised into a paging priority
    subject_line: RequesterText
    requester: Contact
    first_response_due: datetime | None
    resolution_due: datetime | None
    sla: SlaSchedule


class AssignmentPolicy(StrEnum):
    """How a queue's new tickets find an agent (routing policy, `queues:`; docs/assignment.md)."""

    MANUAL = "manual"  # nobody is assigned until an agent takes or assigns the ticket
    ROUND_ROBIN = "round_robin"  # the available member who least recently got one of the queue
    LEAST_OPEN = "least_open"  # the available member with the fewest open tickets


# `by` of an automatic assignment or hand-back: the helpdesk itself, no user.
AUTOMATIC = UUID(int=0)


class AssignmentReason(BaseModel):
    """Why the automatic assignment chose this agent."""

    model_config = ConfigDict(frozen=True)

    policy: AssignmentPolicy
    trigger: str  # submitted, priority_changed, unassigned, agent_available, members_changed
    candidates: list[UUID]  # the available members considered
    open_tickets: int  # the chosen agent's open tickets before this one


class TicketAssigned(TicketEvent):
    verb: ClassVar[str] = "assigned"

    by: UUID  # AUTOMATIC for an automatic assignment
    assignee: Contact
    previous_assignee_id: UUID | None = None
    status: TicketStatus
    sla: SlaSchedule
    reason: AssignmentReason | None = None  # automatic assignments only
    queue: str | None = None
    subject_line: OptionalRequesterText = None
    note: OptionalRequesterText = None  # the agent's reason for the move (manual assignments)


class TicketUnassigned(TicketEvent):
    """The assignee gave the ticket back (away for long), was deactivated, or an
    agent unassigned it: the queue's policy assigns it again, to someone else.
    Schema 2 adds `unassigned` (an agent's `POST .../unassign`) and its `note`;
    schema 3 seals personal fields (TicketEvent)."""

    schema_version: ClassVar[int] = 3
    verb: ClassVar[str] = "unassigned"

    by: UUID  # the agent handing back or unassigning, the admin deactivating, or AUTOMATIC
    previous_assignee: Contact
    reason: Literal["handed_back", "deactivated", "unassigned"]
    queue: str
    status: TicketStatus
    note: OptionalRequesterText = None  # the agent's reason (unassigned)


class TicketAwaitingAgent(TicketEvent):
    """No member of the ticket's (automatic) queue is available: the ticket waits,
    and the queue's admins are told, once until it is assigned (docs/workspace.md).
    `admins`: the queue's members with role admin, else every active admin."""

    verb: ClassVar[str] = "awaiting_agent"

    queue: str
    priority: Priority
    subject_line: RequesterText
    admins: list[Contact]


class TicketRated(TicketEvent):
    """The requester rated a resolution (1–5, optional comment); once per resolution."""

    verb: ClassVar[str] = "rated"

    rating: int = Field(ge=1, le=5)
    comment: OptionalRequesterText = None
    resolution: int
    requester: Contact
    assignee: Contact | None = None
    queue: str


class TicketSlaWarning(TicketEvent):
    verb: ClassVar[str] = "sla_warning"

    target: SlaTarget
    due_at: datetime
    priority: Priority
    queue: str
    subject_line: RequesterText
    assignee: Contact | None = None


class TicketSlaBreached(TicketEvent):
    verb: ClassVar[str] = "sla_breached"

    target: SlaTarget
    due_at: datetime
    priority: Priority
    queue: str
    subject_line: RequesterText
    assignee: Contact | None = None


class TicketEscalated(TicketEvent):
    """A critical ticket nobody acknowledged in time: page the on-call again."""

    verb: ClassVar[str] = "escalated"

    reason: Literal["unacknowledged"] = "unacknowledged"
    priority: Priority
    queue: str
    subject_line: RequesterText
    submitted_at: datetime


TICKET_EVENTS: tuple[type[TicketEvent], ...] = (
    TicketSubmitted,
    TicketMessageAdded,
    TicketStatusChanged,
    TicketPriorityChanged,
    TicketAssigned,
    TicketSlaWarning,
    TicketSlaBreached,
    TicketEscalated,
    TicketUnassigned,
    TicketAwaitingAgent,
    TicketRated,
)

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

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.messages import Command, Query, ResultT
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.text import single_line, text

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


TicketSubject = Annotated[
    str, Field(min_length=1, max_length=SUBJECT_MAX), AfterValidator(single_line)
]
TicketDescription = Annotated[
    str, Field(min_length=1, max_length=DESCRIPTION_MAX), AfterValidator(text)
]
MessageBody = Annotated[str, Field(min_length=1, max_length=MESSAGE_MAX), AfterValidator(text)]


# --- results ------------------------------------------------------------------------------


class Submitted(BaseModel):
    ticket_id: UUID
    number: str
    status: TicketStatus
    priority: Priority
    queue: str
    first_response_due: datetime | None
    resolution_due: datetime | None


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


class TicketList(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None = None


class MessageAdded(BaseModel):
    ticket_id: UUID
    message_id: UUID
    status: TicketStatus


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
    page: bool
    sla: SlaTargetInfo


class PriorityList(BaseModel):
    items: list[PriorityInfo]


class _TicketsCommand(Command[ResultT], Generic[ResultT]):
    service: ClassVar[str | None] = SERVICE


class _TicketsQuery(Query[ResultT], Generic[ResultT]):
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


# --- commands -----------------------------------------------------------------------------


class SubmitTicket(_TicketsCommand[Submitted], TicketDraft):
    verb: ClassVar[str] = "submit"

    actor: Actor


class AddMessage(_TicketsCommand[MessageAdded], MessageDraft):
    """A reply (public) or, for agents only, an internal note."""

    verb: ClassVar[str] = "add_message"

    actor: Actor
    ticket_id: UUID


class ChangeStatus(_TicketsCommand[TicketSummary], StatusChange):
    verb: ClassVar[str] = "change_status"

    actor: Actor
    ticket_id: UUID


class ChangePriority(_TicketsCommand[TicketSummary], PriorityChange):
    verb: ClassVar[str] = "change_priority"

    actor: Actor
    ticket_id: UUID


class AssignTicket(_TicketsCommand[TicketSummary], Assignment):
    """Assign to `assignee_id` (the caller when omitted); see `Assignment`."""

    verb: ClassVar[str] = "assign"

    actor: Actor
    ticket_id: UUID


# --- queries ------------------------------------------------------------------------------


class GetTicket(_TicketsQuery[TicketDetail]):
    verb: ClassVar[str] = "get"

    actor: Actor
    ticket_id: UUID


class ListTickets(_TicketsQuery[TicketList]):
    """Customers get their own tickets; agents their queues (every queue with
    `all_queues`, or if they are a member of none), soonest due first."""

    verb: ClassVar[str] = "list"

    actor: Actor
    all_queues: bool = False
    priority: Priority | None = None
    status: TicketStatus | None = None
    queue: str | None = Field(default=None, max_length=64)
    assignee_id: UUID | None = None
    unassigned: bool = False
    cursor: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=200)


class ListPriorities(_TicketsQuery[PriorityList]):
    verb: ClassVar[str] = "priorities"

    actor: Actor | None = None


# --- events -------------------------------------------------------------------------------


class Contact(BaseModel):
    """Who a mail about a ticket goes to, as the tickets service knew them."""

    model_config = ConfigDict(frozen=True)

    user_id: UUID
    name: str | None = None
    email: str | None = None
    locale: str = "el"


class SlaSchedule(BaseModel):
    """The running SLA deadlines after an event; `None` means stopped, met or paused."""

    model_config = ConfigDict(frozen=True)

    first_response_due: datetime | None = None
    first_response_warning_at: datetime | None = None
    resolution_due: datetime | None = None
    resolution_warning_at: datetime | None = None
    escalate_at: datetime | None = None  # critical: page again if still unacknowledged


class TicketEvent(EventData):
    """Base of the ticket events (not itself an event type)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls.producer = SERVICE
        cls.aggregate = "ticket"
        super().__init_subclass__(**kwargs)

    ticket_id: UUID
    number: str
    at: datetime

    @classmethod
    def any_with(cls, priority: Priority) -> str:
        """Every ticket event whose subject ends in `priority` (submitted, re-prioritised)."""
        return f"{SERVICE}.events.ticket.*.{priority.value}"


class TicketSubmitted(TicketEvent):
    verb: ClassVar[str] = "submitted"
    subject_tokens: ClassVar[tuple[str, ...]] = ("priority",)

    requester: Contact
    subject_line: str
    description: str
    priority: Priority
    category: Category | None = None
    queue: str
    clock: SlaClock
    page: bool
    first_response_due: datetime | None
    resolution_due: datetime | None
    sla: SlaSchedule


class TicketMessageAdded(TicketEvent):
    verb: ClassVar[str] = "message_added"

    message_id: UUID
    author: Contact
    by_agent: bool
    body: str
    internal: bool
    requester: Contact
    assignee: Contact | None = None
    first_response: bool = False  # the first public agent reply: the clock stopped
    status: TicketStatus  # the status after the message
    sla: SlaSchedule


class TicketStatusChanged(TicketEvent):
    verb: ClassVar[str] = "status_changed"

    by: UUID
    by_agent: bool
    from_status: TicketStatus
    to_status: TicketStatus
    requester: Contact
    subject_line: str
    sla: SlaSchedule


class TicketPriorityChanged(TicketEvent):
    verb: ClassVar[str] = "priority_changed"
    subject_tokens: ClassVar[tuple[str, ...]] = ("priority",)

    by: UUID
    from_priority: Priority
    priority: Priority
    queue: str
    clock: SlaClock
    page: bool  # raised into a paging priority
    subject_line: str
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
    subject_line: str | None = None


class TicketUnassigned(TicketEvent):
    """The assignee gave the ticket back (away for long) or was deactivated: the
    queue's policy assigns it again."""

    verb: ClassVar[str] = "unassigned"

    by: UUID  # the agent handing back, the admin deactivating, or AUTOMATIC
    previous_assignee: Contact
    reason: Literal["handed_back", "deactivated"]
    queue: str
    status: TicketStatus


class TicketSlaWarning(TicketEvent):
    verb: ClassVar[str] = "sla_warning"

    target: SlaTarget
    due_at: datetime
    priority: Priority
    queue: str
    subject_line: str
    assignee: Contact | None = None


class TicketSlaBreached(TicketEvent):
    verb: ClassVar[str] = "sla_breached"

    target: SlaTarget
    due_at: datetime
    priority: Priority
    queue: str
    subject_line: str
    assignee: Contact | None = None


class TicketEscalated(TicketEvent):
    """A critical ticket nobody acknowledged in time: page the on-call again."""

    verb: ClassVar[str] = "escalated"

    reason: Literal["unacknowledged"] = "unacknowledged"
    priority: Priority
    queue: str
    subject_line: str
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
)

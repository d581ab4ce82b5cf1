"""What happened to a ticket: the `Ticket` aggregate's own, private events.

They are the vocabulary of the aggregate, free to change with it. The public
contract events (`helpdesk.contracts.tickets.TicketSubmitted`, …) are made
from them in one place only, `adapters/contract_events.py`, which also adds
what subscribers need and the aggregate already knows (the ticket's number,
its requester's contact, its subject line). Due times travel in `sla`, so
folding never needs the routing policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from helpdesk.contracts.attachments import RefusedFile, StoredFile
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    AssignmentReason,
    Category,
    Channel,
    Contact,
    SlaClock,
    SlaSchedule,
    SlaTarget,
    TicketStatus,
)

FileT = TypeVar("FileT", StoredFile, RefusedFile)


@dataclass(frozen=True)
class Submitted:
    at: datetime
    number: str
    requester: Contact
    subject: str
    description: str
    priority: Priority
    category: Category | None
    queue: str
    clock: SlaClock
    page: bool  # the priority pages on-call
    sla: SlaSchedule
    channel: Channel = Channel.PORTAL
    opened_by: Contact | None = None  # the agent who opened it on the requester's behalf


@dataclass(frozen=True)
class MessageAdded:
    """A reply, or (agents only) an internal note."""

    at: datetime
    message_id: UUID
    author: Contact
    by_agent: bool
    body: str
    internal: bool
    first_response: bool  # the first public agent reply: the first-response clock stopped
    status: TicketStatus  # the status after the message
    sla: SlaSchedule
    files: tuple[StoredFile, ...] = ()  # recorded with it (AttachmentsAdded, with_message)


@dataclass(frozen=True)
class StatusChanged:
    at: datetime
    by: UUID
    by_agent: bool
    from_status: TicketStatus
    to_status: TicketStatus
    sla: SlaSchedule
    note: str | None = None  # a reopen's reason


@dataclass(frozen=True)
class PriorityChanged:
    at: datetime
    by: UUID
    from_priority: Priority
    priority: Priority
    queue: str
    clock: SlaClock
    page: bool  # raised into a paging priority
    sla: SlaSchedule


@dataclass(frozen=True)
class Assigned:
    at: datetime
    by: UUID
    assignee: Contact
    previous_assignee_id: UUID | None
    status: TicketStatus  # a submitted ticket opens when assigned
    sla: SlaSchedule
    reason: AssignmentReason | None = None  # automatic: why this agent
    note: str | None = None  # manual: the agent's reason for the move


@dataclass(frozen=True)
class Unassigned:
    """The assignee handed the ticket back, was deactivated, or an agent
    unassigned it: back to the queue."""

    at: datetime
    by: UUID
    previous_assignee: Contact
    reason: str  # handed_back | deactivated | unassigned
    note: str | None = None  # unassigned: the agent's reason


@dataclass(frozen=True)
class Rated:
    """The requester's rating of the ticket's latest resolution."""

    at: datetime
    by: UUID  # the requester
    rating: int
    comment: str | None
    resolution: int


@dataclass(frozen=True)
class AwaitingAgent:
    """Nobody of the queue is available: its admins are told (once until assigned)."""

    at: datetime
    admins: tuple[Contact, ...]


@dataclass(frozen=True)
class _DueTimeAlarm:
    """An SLA target whose due time is near (a warning) or past (a breach)."""

    at: datetime
    target: SlaTarget
    due_at: datetime


@dataclass(frozen=True)
class SlaWarningIssued(_DueTimeAlarm):
    """The target's warning time came."""


@dataclass(frozen=True)
class SlaBreached(_DueTimeAlarm):
    """The target's due time passed."""


@dataclass(frozen=True)
class Escalated:
    """A critical ticket nobody acknowledged in time."""

    at: datetime


@dataclass(frozen=True)
class _FilesBrought(Generic[FileT]):
    """Files somebody brought to the ticket: taken (added) or not (refused)."""

    at: datetime
    files: tuple[FileT, ...]
    by: Contact
    by_agent: bool


@dataclass(frozen=True)
class AttachmentsAdded(_FilesBrought[StoredFile]):
    """Files stored by the gateway, recorded on the ticket (metadata only)."""

    internal: bool
    message_id: UUID | None
    with_message: bool = False  # added by the command that added message_id


@dataclass(frozen=True)
class AttachmentRemoved:
    at: datetime
    attachment_id: UUID
    sha256: str
    thumbnail: bool
    internal: bool
    by: UUID
    reason: str


@dataclass(frozen=True)
class AttachmentsRefused(_FilesBrought[RefusedFile]):
    """Files that came with a mail and were not taken: named on the timeline."""

    message_id: UUID | None


TicketEvent = (
    Submitted
    | MessageAdded
    | StatusChanged
    | PriorityChanged
    | Assigned
    | Unassigned
    | AwaitingAgent
    | Rated
    | SlaWarningIssued
    | SlaBreached
    | Escalated
    | AttachmentsAdded
    | AttachmentRemoved
    | AttachmentsRefused
)

SlaAlarm = SlaWarningIssued | SlaBreached | Escalated

# SLA alarms: shown to agents only.
SLA_ALARMS = (SlaWarningIssued, SlaBreached, Escalated)
# The agents' own business: customers' timelines leave these out.
AGENTS_ONLY = (*SLA_ALARMS, AwaitingAgent)
# Moves whose reason (`note`) is for agents: customers see the move, not why.
MOVES = (Assigned, Unassigned)

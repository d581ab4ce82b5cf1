"""Contracts of the agents' workflow in the tickets service: queues and their
members, agents' availability (docs/assignment.md).

The tickets service owns queues because it owns the routing policy that names
them. Admins set a queue's members (`PUT /api/v1/queues/{queue}/members`);
agents say whether they are available (`PUT /api/v1/me/availability`). Both
are event-sourced in the tickets store and published on
`tickets.events.queue.members_changed` and `tickets.events.agent.availability_changed`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.messages import AdminRequest
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.text import SINGLE_LINE
from helpdesk.contracts.tickets import (
    SERVICE,
    AssignmentPolicy,
    TicketStatus,
    _TicketsCommand,
    _TicketsQuery,
)

MEMBERS_MAX = 200

QueueName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Username = Annotated[str, Field(min_length=1, max_length=64)]


# --- results ------------------------------------------------------------------------------


class QueueMember(BaseModel):
    user_id: UUID
    name: str | None = None
    username: str | None = None
    available: bool
    back_at: datetime | None = None
    open_tickets: int


class QueueInfo(BaseModel):
    queue: str
    label: dict[str, str] = {}  # locale -> its name for people (the routing policy's)
    assignment: AssignmentPolicy
    priorities: list[Priority]  # the priorities the routing policy sends here
    members: list[QueueMember]
    waiting: int = 0  # its open tickets nobody has (counted up to WAITING_COUNTED)

    @property
    def nobody_available(self) -> bool:
        """Its tickets wait for nobody: no member is available (or it has none)."""
        return not any(m.available for m in self.members)


WAITING_COUNTED = 1000


class QueueList(BaseModel):
    items: list[QueueInfo]


class Availability(BaseModel):
    user_id: UUID
    available: bool
    back_at: datetime | None = None
    handed_back: int = 0  # open tickets given back to their queues by this change


# --- what clients send ---------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QueueMembership(_Body):
    """The queue's members, all of them (an empty list empties the queue)."""

    agent_ids: list[UUID] = Field(max_length=MEMBERS_MAX)


class AvailabilityChange(_Body):
    """Available or away; `back_at` is shown to colleagues. `hand_back` gives the
    caller's open tickets back to their queues when away for more than a day."""

    available: bool
    back_at: datetime | None = None
    hand_back: bool = False


# --- commands and queries (agents and admins, through the gateway) ------------------------


class ListQueues(_TicketsQuery[QueueList]):
    """Every queue of the routing policy with its members (agents and admins)."""

    verb: ClassVar[str] = "list_queues"

    actor: Actor


class GetQueueMembers(_TicketsQuery[QueueInfo]):
    verb: ClassVar[str] = "queue_members"

    actor: Actor
    queue: QueueName


class SetQueueMembers(_TicketsCommand[QueueInfo], QueueMembership):
    """Admins only (403 otherwise); every id must be an active agent (422)."""

    verb: ClassVar[str] = "set_queue_members"

    actor: Actor
    queue: QueueName


class SetAvailability(_TicketsCommand[Availability], AvailabilityChange):
    """Agents only (403 for customers)."""

    verb: ClassVar[str] = "set_availability"

    actor: Actor


class GetAvailability(_TicketsQuery[Availability]):
    verb: ClassVar[str] = "availability"

    actor: Actor


# --- operator commands (the `helpdesk` CLI; NATS permissions guard them) ------------------


class OperatorListQueues(AdminRequest[QueueList]):
    service: ClassVar[str | None] = SERVICE
    verb: ClassVar[str] = "queues.list"


class OperatorSetQueueMembers(AdminRequest[QueueInfo]):
    service: ClassVar[str | None] = SERVICE
    verb: ClassVar[str] = "queues.set_members"

    queue: QueueName
    usernames: list[Username] = Field(max_length=MEMBERS_MAX)


SAVED_FILTERS_MAX = 20
FilterName = Annotated[str, Field(min_length=1, max_length=60), SINGLE_LINE]


class FilterSpec(BaseModel):
    """What a saved filter of the queue page shows (the page's own query fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    view: Literal["my_queues", "all", "unassigned", "mine"] = "my_queues"
    priority: Priority | None = None
    status: TicketStatus | None = None
    queue: QueueName | None = None
    q: Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE] | None = None


class SavedFilter(BaseModel):
    name: str
    spec: FilterSpec


class SavedFilters(BaseModel):
    items: list[SavedFilter]


class SaveFilter(_TicketsCommand[SavedFilters]):
    """An agent's named view of the queue, kept for them (the same name replaces it;
    at most SAVED_FILTERS_MAX each). Agents only."""

    verb: ClassVar[str] = "save_filter"

    actor: Actor
    name: FilterName
    spec: FilterSpec


class DeleteFilter(_TicketsCommand[SavedFilters]):
    verb: ClassVar[str] = "delete_filter"

    actor: Actor
    name: FilterName


class ListFilters(_TicketsQuery[SavedFilters]):
    verb: ClassVar[str] = "filters"

    actor: Actor


class ReplayRow(BaseModel):
    """One agent in an assignment replay."""

    user_id: UUID
    name: str | None = None
    replayed: int  # tickets the policy would have given them
    actual: int  # tickets whose first assignment really was theirs
    replayed_peak_open: int
    actual_peak_open: int


class AssignmentReplay(BaseModel):
    policy: AssignmentPolicy
    since: datetime
    queue: str | None
    tickets: int
    unassigned: int  # arrivals the policy found nobody available for
    rows: list[ReplayRow]
    replayed_spread_mean: float
    replayed_spread_max: int
    actual_spread_mean: float
    actual_spread_max: int


class OperatorReplayAssignment(AdminRequest[AssignmentReplay]):
    """Replay the tickets submitted since `since` (to `queue`) through `policy`,
    changing nothing (`helpdesk assignment-replay`, docs/workspace.md)."""

    service: ClassVar[str | None] = SERVICE
    verb: ClassVar[str] = "assignment.replay"

    policy: Literal[AssignmentPolicy.LEAST_OPEN, AssignmentPolicy.ROUND_ROBIN]
    since: datetime
    queue: QueueName | None = None


# --- events -------------------------------------------------------------------------------


class _AgentsEvent(EventData):
    producer: ClassVar[str] = SERVICE


class QueueMembersChanged(_AgentsEvent):
    """A queue's members were set (by an admin, or the operator when `by` is None)."""

    aggregate: ClassVar[str] = "queue"
    verb: ClassVar[str] = "members_changed"

    queue: str
    members: list[UUID]
    added: list[UUID]
    removed: list[UUID]
    by: UUID | None = None
    at: datetime


class AgentAvailabilityChanged(_AgentsEvent):
    aggregate: ClassVar[str] = "agent"
    verb: ClassVar[str] = "availability_changed"

    user_id: UUID
    available: bool
    back_at: datetime | None = None
    hand_back: bool = False
    at: datetime

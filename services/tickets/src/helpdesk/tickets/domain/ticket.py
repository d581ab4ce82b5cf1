"""The Ticket aggregate: a support request folded from its events.

Pure: no I/O. Command methods check the rules, then record one of the
aggregate's own events (`domain/events.py`) whose `_apply` is the only place
state changes; loading a ticket replays the same `_apply` over the stored
events. Time comes in as `now`, SLA rules as the routing policy; due times
computed at a command travel in the event (`domain/sla.py`).

Lifecycle: submitted -> open -> pending (waiting on the requester) ->
resolved -> closed, with reopen (resolved -> open; the requester only within
the policy's reopen window) and closing by itself after the auto-close days.
The resolution clock runs only while submitted or open; the first-response clock stops at the first
public agent reply.

Well over our ~350-line module aim (about 640 lines since issue 29 added
assigning colleagues, unassigning, reopening within a window, closing by
itself, rating and the admins' waiting notice): every command of the ticket
stays on the aggregate, beside the rule it checks; lifecycle, SLA scheduling
and the files' rules are already their own modules. The end of a ticket
(reopen window, auto-close, rating) is the next candidate to move out, as
`domain/attachments.py` did for files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from helpdesk.contracts.attachments import RefusedFile, StoredFile
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    AUTOMATIC,
    AssignmentReason,
    Category,
    Channel,
    Contact,
    SlaSchedule,
    TicketStatus,
)
from helpdesk.tickets.domain import attachments as files
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.errors import (
    AlreadyAssigned,
    AlreadyRated,
    Forbidden,
    InvalidAssignee,
    InvalidRatingLink,
    InvalidTransition,
    TicketClosed,
    TicketNotFound,
)
from helpdesk.tickets.domain.events import (
    Assigned,
    AttachmentRemoved,
    AttachmentsAdded,
    AttachmentsRefused,
    AwaitingAgent,
    Escalated,
    MessageAdded,
    PriorityChanged,
    Rated,
    SlaAlarm,
    SlaBreached,
    SlaWarningIssued,
    StatusChanged,
    Submitted,
    TicketEvent,
    Unassigned,
)
from helpdesk.tickets.domain.lifecycle import allowed_moves
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.sla import Fired, Intervals, alarms_due, running_after, schedule

S = TicketStatus

_RANK = {p: i for i, p in enumerate(Priority)}
# A ticket someone still has to work on (counts towards an agent's open tickets).
_OPEN_WORK = (S.SUBMITTED, S.OPEN, S.PENDING)


@dataclass
class Ticket:
    ticket_id: UUID
    version: int = 0
    number: str = ""
    requester: Contact | None = None
    subject: str = ""
    description: str = ""
    priority: Priority = Priority.NORMAL
    category: Category | None = None
    queue: str = ""
    status: TicketStatus = S.SUBMITTED
    assignee: Contact | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    first_responded_at: datetime | None = None
    acknowledged: bool = False
    admins_told: bool = False  # nobody was available; told once until assigned
    resolved_at: datetime | None = None  # the latest resolution (kept when closed after it)
    resolutions: int = 0  # how many times it was resolved
    rated: int = 0  # the resolution its requester rated last (0: none)
    channel: Channel = Channel.PORTAL
    opened_by: Contact | None = None
    sla: SlaSchedule = field(default_factory=SlaSchedule)
    running: Intervals = field(default_factory=list)
    fired: Fired = field(default_factory=set)
    attachments: files.Attachments = field(default_factory=dict)
    history: list[TicketEvent] = field(default_factory=list)
    pending: list[TicketEvent] = field(default_factory=list)

    # --- folding ---------------------------------------------------------------------------

    @classmethod
    def fold(cls, ticket_id: UUID, events: Iterable[TicketEvent]) -> Ticket:
        """Rebuild from its stored events, oldest first."""
        ticket = cls(ticket_id)
        for event in events:
            ticket._apply(event)
            ticket.version += 1
        return ticket

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self.pending)

    def saved(self) -> None:
        """The pending events are stored: they count in the version now."""
        self.version += len(self.pending)
        self.pending.clear()

    def _record(self, event: TicketEvent) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: TicketEvent) -> None:
        self.history.append(event)
        self.updated_at = event.at
        match event:
            case Submitted():
                self.number = event.number
                self.requester = event.requester
                self.subject = event.subject
                self.description = event.description
                self.priority = event.priority
                self.category = event.category
                self.queue = event.queue
                self.status = S.SUBMITTED
                self.created_at = event.at
                self.running = [(event.at, None)]
                self.sla = event.sla
                self.channel = event.channel
                self.opened_by = event.opened_by
            case MessageAdded():
                if event.first_response:
                    self.first_responded_at = event.at
                if event.by_agent and not event.internal:
                    self.acknowledged = True
                self._enter(event.status, event.at)
                self.sla = event.sla
            case StatusChanged():
                self._enter(event.to_status, event.at)
                self.sla = event.sla
            case PriorityChanged():
                self.priority = event.priority
                self.queue = event.queue
                self.sla = event.sla
            case Assigned():
                self.assignee = event.assignee
                self.acknowledged = True
                self.admins_told = False
                self._enter(event.status, event.at)
                self.sla = event.sla
            case Unassigned():
                self.assignee = None
            case AwaitingAgent():
                self.admins_told = True
            case Rated():
                self.rated = event.resolution
            case SlaWarningIssued():
                self.fired.add(("warning", event.target.value))
            case SlaBreached():
                self.fired.add(("breach", event.target.value))
                self.fired.add(("warning", event.target.value))
            case Escalated():
                self.fired.add(("escalation", ""))
            case AttachmentsAdded() | AttachmentRemoved():
                files.apply(self.attachments, event)

    def _enter(self, status: TicketStatus, at: datetime) -> None:
        self.running = running_after(self.running, self.status, status, at)
        if status is S.RESOLVED and self.status is not S.RESOLVED:
            self.resolved_at = at
            self.resolutions += 1
        elif status is not S.CLOSED:
            self.resolved_at = None  # reopened (a closed ticket keeps its resolution)
        self.status = status

    # --- commands --------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        ticket_id: UUID,
        number: str,
        requester: Contact,
        subject: str,
        description: str,
        priority: Priority,
        category: Category | None,
        policy: RoutingPolicy,
        now: datetime,
        channel: Channel = Channel.PORTAL,
        opened_by: Contact | None = None,
    ) -> Ticket:
        ticket = cls(ticket_id)
        route = policy.route(priority)
        sla = schedule(
            policy,
            priority=priority,
            created_at=now,
            status=S.SUBMITTED,
            running=[(now, None)],
            first_responded=False,
            acknowledged=False,
            fired=set(),
        )
        ticket._record(
            Submitted(
                at=now,
                number=number,
                requester=requester,
                subject=subject,
                description=description,
                priority=priority,
                category=category,
                queue=route.queue,
                clock=route.clock,
                page=route.page,
                sla=sla,
                channel=channel,
                opened_by=opened_by,
            )
        )
        return ticket

    def ensure_visible_to(self, caller: Caller) -> None:
        """Customers see their own tickets only; anything else does not exist for them."""
        if not self.exists:
            raise TicketNotFound()
        own = self.requester is not None and caller.user_id == self.requester.user_id
        if not caller.is_agent and not own:
            raise TicketNotFound()

    def _ensure_agent(self, caller: Caller, what: str) -> None:
        self.ensure_visible_to(caller)
        if not caller.is_agent:
            raise Forbidden(f"only agents may {what}")

    def _ensure_not_closed(self) -> None:
        if self.status is S.CLOSED:
            raise TicketClosed(f"ticket {self.number} is closed")

    def add_message(
        self,
        caller: Caller,
        *,
        body: str,
        internal: bool,
        policy: RoutingPolicy,
        now: datetime,
        stored: list[StoredFile] | None = None,
        max_total: int = 0,
    ) -> MessageAdded:
        """A reply or note, with the files stored for it (`stored`): both or
        neither, so its mail can carry them (AttachmentsAdded `with_message`)."""
        self.ensure_visible_to(caller)
        if internal and not caller.is_agent:
            raise Forbidden("only agents may add internal notes")
        self._ensure_not_closed()
        message_id = uuid4()
        with_files = (
            files.decide_add(
                self.attachments,
                caller,
                stored,
                internal=internal,
                message_id=message_id,
                max_total=max_total,
                now=now,
            )
            if stored
            else None
        )
        status = self.status
        first_response = False
        if caller.is_agent and not internal:
            first_response = self.first_responded_at is None
            if status is S.SUBMITTED:
                status = S.OPEN
        elif not caller.is_agent and status in (S.PENDING, S.RESOLVED):
            status = S.OPEN  # the requester answered, or reopened by replying
        sla = self._schedule_after(
            policy,
            status=status,
            at=now,
            first_responded=first_response or None,
            acknowledged=True if caller.is_agent and not internal else None,
        )
        event = MessageAdded(
            at=now,
            message_id=message_id,
            author=caller.contact,
            by_agent=caller.is_agent,
            body=body,
            internal=internal,
            first_response=first_response,
            status=status,
            sla=sla,
            files=with_files.files if with_files else (),
        )
        self._record(event)
        if with_files is not None:
            self._record(dataclasses.replace(with_files, with_message=True))
        return event

    def change_status(
        self, caller: Caller, status: TicketStatus, *, policy: RoutingPolicy, now: datetime
    ) -> StatusChanged:
        self.ensure_visible_to(caller)
        if status not in allowed_moves(self.status, by_agent=caller.is_agent):
            if self.status is S.CLOSED:
                raise TicketClosed(f"ticket {self.number} is closed")
            if not caller.is_agent and status not in (S.CLOSED, S.OPEN):
                raise Forbidden("customers may only close a ticket or reopen a resolved one")
            raise InvalidTransition(f"a {self.status.value} ticket cannot become {status.value}")
        if status is S.OPEN and self.status is S.RESOLVED:
            self._ensure_reopen_window(caller, policy, now)
        return self._move(caller.user_id, caller.is_agent, status, policy=policy, now=now)

    def reopen(
        self, caller: Caller, *, note: str | None, policy: RoutingPolicy, now: datetime
    ) -> StatusChanged:
        """A resolved ticket open again: its requester within the reopen window
        (`policy.reopen_days` after the resolution), an agent at any time."""
        self.ensure_visible_to(caller)
        self._ensure_not_closed()
        if self.status is not S.RESOLVED:
            raise InvalidTransition(
                f"only a resolved ticket can be reopened; this one is {self.status.value}"
            )
        self._ensure_reopen_window(caller, policy, now)
        return self._move(
            caller.user_id, caller.is_agent, S.OPEN, policy=policy, now=now, note=note
        )

    def _ensure_reopen_window(self, caller: Caller, policy: RoutingPolicy, now: datetime) -> None:
        if caller.is_agent or self.resolved_at is None:
            return
        if now > policy.reopen_until(self.resolved_at):
            raise InvalidTransition(
                f"ticket {self.number} was resolved more than {policy.reopen_days:g} days ago"
                " and can no longer be reopened; please submit a new request"
            )

    def close_if_due(self, now: datetime) -> StatusChanged | None:
        """A resolved ticket nobody reopened closes by itself at `sla.auto_close_at`."""
        due = self.sla.auto_close_at
        if self.status is not S.RESOLVED or due is None or due > now:
            return None
        event = StatusChanged(
            at=now,
            by=AUTOMATIC,
            by_agent=False,
            from_status=self.status,
            to_status=S.CLOSED,
            sla=SlaSchedule(),  # closed: nothing is due any more
        )
        self._record(event)
        return event

    def check_rating_link(self, requester_id: UUID, resolution: int) -> None:
        """A verified rating link (docs/workspace.md) rates the latest resolution of its
        requester's ticket, once: a link of an earlier resolution (reopened, or resolved
        again since) is refused as `invalid_transition`, a rated one as `conflict`."""
        if not self.exists or self.requester is None or self.requester.user_id != requester_id:
            raise InvalidRatingLink()
        if self.resolved_at is None or resolution != self.resolutions:
            raise InvalidTransition(
                f"this link rates an earlier resolution of ticket {self.number}"
            )
        if self.rated == self.resolutions:
            raise AlreadyRated(f"this resolution of ticket {self.number} is rated already")

    def rate(self, caller: Caller, *, rating: int, comment: str | None, now: datetime) -> Rated:
        """The requester's rating of the latest resolution, once per resolution
        (a reopened and again resolved ticket may be rated again)."""
        self.ensure_visible_to(caller)
        if self.requester is None or caller.user_id != self.requester.user_id:
            raise Forbidden("only the requester may rate a ticket")
        if self.resolved_at is None:
            raise InvalidTransition(f"ticket {self.number} is not resolved; rate it once it is")
        if self.rated == self.resolutions:
            raise AlreadyRated(f"this resolution of ticket {self.number} is rated already")
        event = Rated(
            at=now, by=caller.user_id, rating=rating, comment=comment, resolution=self.resolutions
        )
        self._record(event)
        return event

    def _move(
        self,
        by: UUID,
        by_agent: bool,
        status: TicketStatus,
        *,
        policy: RoutingPolicy,
        now: datetime,
        note: str | None = None,
    ) -> StatusChanged:
        event = StatusChanged(
            at=now,
            by=by,
            by_agent=by_agent,
            from_status=self.status,
            to_status=status,
            sla=self._schedule_after(policy, status=status, at=now),
            note=note,
        )
        self._record(event)
        return event

    def change_priority(
        self, caller: Caller, priority: Priority, *, policy: RoutingPolicy, now: datetime
    ) -> PriorityChanged | None:
        """Re-route and recompute the due times from submission; None if unchanged."""
        self._ensure_agent(caller, "change the priority")
        self._ensure_not_closed()
        if priority is self.priority:
            return None
        route = policy.route(priority)
        raised = _RANK[priority] > _RANK[self.priority]
        event = PriorityChanged(
            at=now,
            by=caller.user_id,
            from_priority=self.priority,
            priority=priority,
            queue=route.queue,
            clock=route.clock,
            page=route.page and raised,
            sla=self._schedule_after(policy, status=self.status, at=now, priority=priority),
        )
        self._record(event)
        return event

    def assign(
        self,
        caller: Caller,
        assignee: Contact,
        *,
        assignee_is_agent: bool,
        reassign: bool,
        policy: RoutingPolicy,
        now: datetime,
        queue_members: Collection[UUID] = (),
        note: str | None = None,
    ) -> Assigned | None:
        """Only agents are assignees; None when `assignee` has it already (a repeat).

        Assigning to oneself needs no word about the assignee: only an agent
        may assign at all. Someone else must be known as an agent, which is
        checked first, before the ticket is looked at; and, when the ticket's
        queue has members (`queue_members`), be one of them (a queue nobody
        was put in is everyone's, as for the lists).
        """
        colleague = assignee.user_id != caller.user_id
        if colleague and not assignee_is_agent:
            raise InvalidAssignee()
        self._ensure_agent(caller, "assign tickets")
        if colleague and queue_members and assignee.user_id not in queue_members:
            raise InvalidAssignee(f"not a member of the queue {self.queue}")
        self._ensure_not_closed()
        current = self.assignee
        if current is not None and current.user_id == assignee.user_id:
            return None
        if current is not None and not reassign:
            raise AlreadyAssigned(
                f"ticket {self.number} is already assigned to {current.name or current.user_id}"
            )
        event = dataclasses.replace(
            self._assigned(assignee, caller.user_id, policy, now), note=note
        )
        self._record(event)
        return event

    def _assigned(
        self, assignee: Contact, by: UUID, policy: RoutingPolicy, now: datetime
    ) -> Assigned:
        """The assignment, by hand or automatic (its note or reason to add): a
        submitted ticket opens, and the SLA counts it acknowledged."""
        status = S.OPEN if self.status is S.SUBMITTED else self.status
        return Assigned(
            at=now,
            by=by,
            assignee=assignee,
            previous_assignee_id=self.assignee.user_id if self.assignee else None,
            status=status,
            sla=self._schedule_after(policy, status=status, at=now, acknowledged=True),
        )

    def return_to_queue(
        self, caller: Caller, *, note: str | None, now: datetime
    ) -> Unassigned | None:
        """An agent takes the assignee off (theirs or a colleague's): the queue's
        policy may give it to someone else. None if nobody has it."""
        self._ensure_agent(caller, "unassign tickets")
        self._ensure_not_closed()
        if self.assignee is None:
            return None
        event = Unassigned(
            at=now,
            by=caller.user_id,
            previous_assignee=self.assignee,
            reason="unassigned",
            note=note,
        )
        self._record(event)
        return event

    def add_attachments(
        self,
        caller: Caller,
        stored: list[StoredFile],
        *,
        internal: bool,
        message_id: UUID | None,
        max_total: int,
        now: datetime,
    ) -> AttachmentsAdded | None:
        """Record files the gateway stored (rules in `domain/attachments.py`)."""
        self.ensure_visible_to(caller)
        self._ensure_not_closed()
        event = files.decide_add(
            self.attachments,
            caller,
            stored,
            internal=internal,
            message_id=message_id,
            max_total=max_total,
            now=now,
        )
        if event is not None:
            self._record(event)
        return event

    def remove_attachment(
        self, caller: Caller, attachment_id: UUID, *, reason: str, now: datetime
    ) -> AttachmentRemoved | None:
        self.ensure_visible_to(caller)
        event = files.decide_remove(self.attachments, caller, attachment_id, reason=reason, now=now)
        if event is not None:
            self._record(event)
        return event

    def erase_files(self, now: datetime) -> list[AttachmentRemoved]:
        """Its requester was erased: every file still on the ticket goes (their
        bytes are erased after the commit, as for any removed file)."""
        system = Caller(contact=Contact(user_id=AUTOMATIC), is_agent=True)
        removed = []
        for attachment_id in list(self.attachments):
            event = self.remove_attachment(system, attachment_id, reason="erased", now=now)
            if event is not None:
                removed.append(event)
        return removed

    def refuse_files(
        self, caller: Caller, refused: list[RefusedFile], *, message_id: UUID | None, now: datetime
    ) -> AttachmentsRefused | None:
        """Name on the timeline the files of a mail that were not taken (nothing when
        there are none). Allowed on a closed ticket too: nothing is dropped silently."""
        self.ensure_visible_to(caller)
        if not refused:
            return None
        event = AttachmentsRefused(
            at=now,
            files=tuple(refused),
            by=caller.contact,
            by_agent=caller.is_agent,
            message_id=message_id,
        )
        self._record(event)
        return event

    @property
    def waiting_for_assignment(self) -> bool:
        """Open work nobody has: what automatic assignment picks up."""
        return self.exists and self.assignee is None and self.status in _OPEN_WORK

    def assign_automatically(
        self, assignee: Contact, reason: AssignmentReason, *, policy: RoutingPolicy, now: datetime
    ) -> Assigned | None:
        """The queue's policy chose `assignee`; None when the ticket no longer waits
        (assigned meanwhile, resolved, closed): a redelivered trigger changes nothing."""
        if not self.waiting_for_assignment:
            return None
        event = dataclasses.replace(self._assigned(assignee, AUTOMATIC, policy, now), reason=reason)
        self._record(event)
        return event

    def tell_admins_it_waits(
        self, admins: Iterable[Contact], *, now: datetime
    ) -> AwaitingAgent | None:
        """Nobody of its queue is available; None once they were told (until the
        ticket is assigned and waits again) or when it no longer waits."""
        if not self.waiting_for_assignment or self.admins_told:
            return None
        event = AwaitingAgent(at=now, admins=tuple(admins))
        self._record(event)
        return event

    def unassign(self, *, by: UUID, reason: str, now: datetime) -> Unassigned | None:
        """Give the ticket back to its queue; None if it has no assignee or is done."""
        if self.assignee is None or self.status not in _OPEN_WORK:
            return None
        event = Unassigned(at=now, by=by, previous_assignee=self.assignee, reason=reason)
        self._record(event)
        return event

    def check_sla(self, now: datetime) -> list[SlaAlarm]:
        """The SLA warnings, breaches and escalation due by `now` and not yet emitted."""
        if self.created_at is None:
            return []
        due = alarms_due(self.sla, fired=self.fired, acknowledged=self.acknowledged, now=now)
        for event in due:
            self._record(event)
        return due

    # --- helpers ---------------------------------------------------------------------------

    def _schedule_after(
        self,
        policy: RoutingPolicy,
        *,
        status: TicketStatus,
        at: datetime,
        priority: Priority | None = None,
        first_responded: bool | None = None,
        acknowledged: bool | None = None,
    ) -> SlaSchedule:
        assert self.created_at is not None
        resolved_at = None
        if status is S.RESOLVED:
            resolved_at = self.resolved_at if self.status is S.RESOLVED else at
        return schedule(
            policy,
            priority=priority or self.priority,
            created_at=self.created_at,
            status=status,
            running=running_after(self.running, self.status, status, at),
            first_responded=first_responded or self.first_responded_at is not None,
            acknowledged=acknowledged or self.acknowledged,
            fired=self.fired,
            resolved_at=resolved_at,
        )

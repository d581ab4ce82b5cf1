"""The agents' workflow: queues and their members (admins set them), and each
agent's availability (docs/assignment.md). Assignment itself is a consumer
(`handlers/assignment.py`): these use cases only record what changed.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from helpdesk.contracts import agents as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.replies import FieldError, Refused
from helpdesk.servicekit.handlers import invalid, retry_on_conflict
from helpdesk.servicekit.logging import get_logger
from helpdesk.tickets.domain.errors import Forbidden
from helpdesk.tickets.handlers.deps import AgentDirectory, Deps, Table

log = get_logger(__name__)

# Handing tickets back is for an absence longer than this.
HAND_BACK_AFTER = timedelta(days=1)


class QueueNotFound(Refused):
    code = "not_found"

    def __init__(self, queue: str) -> None:
        super().__init__(f"no queue {queue!r} in the routing policy")


def _ensure_agent(actor: Actor) -> None:
    if not actor.is_agent:
        raise Forbidden("only agents have queues and availability")


def _ensure_admin(actor: Actor) -> None:
    if Role.ADMIN not in actor.roles:
        raise Forbidden("only admins may do this")


def ensure_queue(deps: Deps, queue: str) -> None:
    if queue not in deps.policy.queue_names():
        raise QueueNotFound(queue)


async def _info(deps: Deps, agents: AgentDirectory, queue: str) -> contract.QueueInfo:
    return contract.QueueInfo(
        queue=queue,
        label=deps.policy.queue_label(queue),
        assignment=deps.policy.assignment(queue),
        priorities=deps.policy.priorities_of(queue),
        members=await agents.members(queue),
        waiting=len(await agents.waiting([queue], contract.WAITING_COUNTED)),
    )


async def _queues(deps: Deps) -> contract.QueueList:
    async with deps.uow() as uow:
        items = [await _info(deps, uow.agents, q) for q in deps.policy.queue_names()]
    return contract.QueueList(items=items)


async def list_queues(query: contract.ListQueues, deps: Deps) -> contract.QueueList:
    _ensure_agent(query.actor)
    return await _queues(deps)


async def queue_members(query: contract.GetQueueMembers, deps: Deps) -> contract.QueueInfo:
    _ensure_agent(query.actor)
    ensure_queue(deps, query.queue)
    async with deps.uow() as uow:
        return await _info(deps, uow.agents, query.queue)


async def _set_members(
    deps: Deps, queue: str, agent_ids: list[UUID], by: UUID | None
) -> contract.QueueInfo:
    wanted = list(dict.fromkeys(agent_ids))

    async def attempt() -> contract.QueueInfo:
        async with deps.uow() as uow:
            agents = uow.agents
            known = await agents.active_agents(wanted)
            problems = [
                FieldError(field=f"agent_ids.{i}", message="not an active agent")
                for i, user_id in enumerate(wanted)
                if user_id not in known
            ]
            if problems:
                raise invalid(problems)
            current = await agents.member_ids(queue)
            added = [u for u in wanted if u not in current]
            removed = [u for u in current if u not in wanted]
            if added or removed:
                event = contract.QueueMembersChanged(
                    queue=queue,
                    members=wanted,
                    added=added,
                    removed=removed,
                    by=by,
                    at=deps.clock.now(),
                )
                await agents.record(f"queue-{queue}", event, by=by)
            await uow.commit()
        if added or removed:
            log.info("queue members set", queue=queue, added=len(added), removed=len(removed))
        async with deps.uow() as uow:
            return await _info(deps, uow.agents, queue)

    return await retry_on_conflict(attempt)


async def set_queue_members(cmd: contract.SetQueueMembers, deps: Deps) -> contract.QueueInfo:
    _ensure_admin(cmd.actor)
    ensure_queue(deps, cmd.queue)
    return await _set_members(deps, cmd.queue, cmd.agent_ids, cmd.actor.user_id)


async def set_availability(cmd: contract.SetAvailability, deps: Deps) -> contract.Availability:
    _ensure_agent(cmd.actor)
    now = deps.clock.now()
    back_at = None if cmd.available else cmd.back_at
    if back_at is not None and (back_at.tzinfo is None or back_at <= now):
        raise invalid([FieldError(field="back_at", message="a moment in the future, with zone")])
    if cmd.hand_back and (cmd.available or (back_at and back_at - now <= HAND_BACK_AFTER)):
        message = "only when away for more than a day"
        raise invalid([FieldError(field="hand_back", message=message)])
    user_id = cmd.actor.user_id

    async def attempt() -> int:
        async with deps.uow() as uow:
            agents = uow.agents
            for queue in sorted(await agents.queues_of(user_id)):
                await agents.lock_queue(queue)  # no assignment to us slips in meanwhile
            event = contract.AgentAvailabilityChanged(
                user_id=user_id,
                available=cmd.available,
                back_at=back_at,
                hand_back=cmd.hand_back,
                at=now,
            )
            await agents.record(f"agent-{user_id}", event, by=user_id)
            handed_back = 0
            if cmd.hand_back:
                for ticket_id in await agents.open_tickets_of(user_id):
                    ticket = await uow.tickets.get(ticket_id)
                    if ticket.unassign(by=user_id, reason="handed_back", now=now):
                        await uow.tickets.save(ticket, by=user_id)
                        handed_back += 1
            await uow.commit()
        return handed_back

    handed_back = await retry_on_conflict(attempt)
    log.info("availability set", available=cmd.available, handed_back=handed_back)
    return contract.Availability(
        user_id=user_id, available=cmd.available, back_at=back_at, handed_back=handed_back
    )


async def availability(query: contract.GetAvailability, deps: Deps) -> contract.Availability:
    _ensure_agent(query.actor)
    async with deps.uow() as uow:
        available, back_at = await uow.agents.availability(query.actor.user_id)
    return contract.Availability(user_id=query.actor.user_id, available=available, back_at=back_at)


# --- the operator's (CLI) -----------------------------------------------------------------


async def operator_list_queues(
    query: contract.OperatorListQueues, deps: Deps
) -> contract.QueueList:
    return await _queues(deps)


async def operator_set_members(
    cmd: contract.OperatorSetQueueMembers, deps: Deps
) -> contract.QueueInfo:
    ensure_queue(deps, cmd.queue)
    async with deps.uow() as uow:
        found = await uow.agents.ids_by_username(cmd.usernames)
    unknown = [
        FieldError(field=f"usernames.{i}", message="no such user")
        for i, name in enumerate(cmd.usernames)
        if name.lower() not in found
    ]
    if unknown:
        raise invalid(unknown)
    return await _set_members(deps, cmd.queue, [found[n.lower()] for n in cmd.usernames], None)


AGENTS: Table = {
    contract.ListQueues: list_queues,
    contract.GetQueueMembers: queue_members,
    contract.SetQueueMembers: set_queue_members,
    contract.SetAvailability: set_availability,
    contract.GetAvailability: availability,
    contract.OperatorListQueues: operator_list_queues,
    contract.OperatorSetQueueMembers: operator_set_members,
}

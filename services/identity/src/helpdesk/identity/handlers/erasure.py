"""Erasure (issue 30, docs/privacy.md): a person asks to be forgotten, an admin
(or the operator) erases them.

Erasing saves an `Erased` event; the users repository destroys the person's key
in the same transaction and queues `PersonalDataErased` (no personal data: the
id, when, why in one word, who, the key ids). From the commit on, everything
sealed under that key — in every event store, stream, backup — reads as erased,
and every service scrubs its plaintext copies. The account ends like a
deactivated one: its sessions are revoked and its access tokens voided at once.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from helpdesk.contracts import privacy as contract
from helpdesk.contracts.actors import Actor, Role
from helpdesk.identity.domain.errors import UnknownUser
from helpdesk.identity.domain.user import ErasureKind
from helpdesk.identity.handlers.deps import Deps, UseCases
from helpdesk.identity.handlers.people import Forbidden, SelfLockout, changed_user, user_id_of
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


def _ensure_admin(actor: Actor) -> None:
    if Role.ADMIN not in actor.roles:
        raise Forbidden("only admins erase people")


async def erase(
    deps: Deps, user_id: UUID, by: UUID | None, reason: str, kind: ErasureKind | None = None
) -> contract.ErasureAccepted:
    """Erase the person (idempotent: a second erasure answers the first's time)."""
    user, _ = await changed_user(
        deps, user_id, lambda user, now: user.erase(by, now, reason, kind), signs_out=True
    )
    assert user.erased_at is not None
    return contract.ErasureAccepted(user_id=user_id, erased_at=user.erased_at)


async def request_erasure(cmd: contract.RequestErasure, deps: Deps) -> contract.ErasureRequested:
    now = deps.clock.now()

    async def attempt() -> contract.ErasureRequested:
        async with deps.uow() as uow:
            user = await uow.users.get(cmd.actor.user_id)
            if not user.exists:
                raise UnknownUser(str(cmd.actor.user_id))
            await uow.users.save(user, user.request_erasure(now, cmd.note))
            await uow.commit()
        return contract.ErasureRequested(user_id=user.user_id, requested_at=now)

    return await retry_on_conflict(attempt)


async def list_erasure_requests(
    query: contract.ListErasureRequests, deps: Deps
) -> contract.ErasureRequests:
    _ensure_admin(query.actor)
    async with deps.uow() as uow:
        return contract.ErasureRequests(items=await uow.users.erasure_requests())


async def erase_user(cmd: contract.EraseUser, deps: Deps) -> contract.ErasureAccepted:
    _ensure_admin(cmd.actor)
    if cmd.user_id == cmd.actor.user_id:
        raise SelfLockout("you cannot erase yourself; another admin can")
    return await erase(deps, cmd.user_id, cmd.actor.user_id, cmd.reason)


async def operator_erase_user(
    cmd: contract.OperatorEraseUser, deps: Deps
) -> contract.ErasureAccepted:
    return await erase(deps, await user_id_of(deps, cmd.username), None, cmd.reason)


async def apply_retention(deps: Deps) -> dict[str, int]:
    """One run of identity's retention (docs/privacy.md, "Retention"): accounts never
    activated within `retention_unactivated_days` are erased; the run's counts are
    published (RetentionApplied), also when nothing was due."""
    now = deps.clock.now()
    cutoff = now - timedelta(days=deps.settings.retention_unactivated_days)
    async with deps.uow() as uow:
        due = await uow.users.unactivated_before(cutoff)
    for user_id in due:
        await erase(deps, user_id, None, "not activated in time", "retention")
    counts = {"unactivated_accounts": len(due)}
    async with deps.uow() as uow:
        await uow.users.publish(contract.RetentionApplied(at=now, counts=counts))
        await uow.commit()
    log.info("retention applied", **counts)
    return counts


HANDLERS: UseCases = {
    contract.RequestErasure: request_erasure,
    contract.ListErasureRequests: list_erasure_requests,
    contract.EraseUser: erase_user,
    contract.OperatorEraseUser: operator_erase_user,
}

"""The tickets service forgets an erased person (issue 30, docs/privacy.md).

On `PersonalDataErased`, once no replica can still hold the person's key
(servicekit/erasure.py), in the delivery's one transaction:

1. every file of the tickets they requested is removed through the aggregate
   (`Ticket.erase_files`: `TicketAttachmentRemoved` events, whose bytes the
   eraser deletes from the object store after the commit);
2. every ticket stream that holds anything sealed under their keys (their own
   tickets, and the tickets where their name appears as an agent's) is
   projected again from its events, which now read as erased: numbers,
   priorities, queues and SLA facts stay, texts and names are empty;
3. their row of the users this service knows loses name, username and e-mail,
   and the stored answers to their repeated requests go.

Replaying the store later gives the same rows (tests/integration/tickets).
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.erasure import forget_keys, wait_for_key_caches
from helpdesk.servicekit.events import EventHandlers
from helpdesk.servicekit.logging import get_logger
from helpdesk.tickets.handlers.deps import UnitOfWorkFactory

log = get_logger(__name__)

CONSUMER_NAME = "tickets-erasure"


@dataclass(frozen=True)
class ErasureDeps:
    uow: UnitOfWorkFactory  # units on the delivery's connection: one transaction with the inbox
    clock: Clock
    key_cache_seconds: float


async def on_erased(event: PersonalDataErased, deps: ErasureDeps) -> None:
    forget_keys(event.user_id)
    wait_for_key_caches(event.erased_at, deps.clock.now(), deps.key_cache_seconds)
    now = deps.clock.now()
    async with deps.uow() as uow:
        requested = await uow.records.requested_by(event.user_id)
    for ticket_id in requested:
        async with deps.uow() as uow:
            ticket = await uow.tickets.get(ticket_id)
            if ticket.erase_files(now):
                await uow.tickets.save(ticket)
                await uow.commit()
    async with deps.uow() as uow:
        touched = sorted({*requested, *await uow.records.sealed_under(event.key_ids)})
        await uow.records.project_again(touched)
        await uow.records.forget_person(event.user_id, touched)
        await uow.commit()
    log.info("person scrubbed", user_id=str(event.user_id), tickets=len(touched))


ERASURE_HANDLERS: EventHandlers[ErasureDeps] = {PersonalDataErased: on_erased}

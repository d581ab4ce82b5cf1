"""A person erased (issue 30; docs/privacy.md, "Erasure in the notifier and the
mailgate"): the mailgate scrubs the mails it keeps of them.

The mailgate holds no keys and opens nothing, but the tickets service may still
be answering a mail of the person with their id while its own key cache lasts;
so the scrub waits, as every service's does (`wait_for_key_caches`: `NotYet`
hands the event back later), for the services' `HELPDESK_PRIVACY_KEY_CACHE_SECONDS`
(30 s by default, the same setting here) plus the kit's margin. A mail answered
even later is stored blank (`erased_people`).
"""

from __future__ import annotations

from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.mailgate.handlers.deps import ErasureDeps
from helpdesk.servicekit.erasure import wait_for_key_caches
from helpdesk.servicekit.events import EventHandlers


async def on_erased(event: PersonalDataErased, deps: ErasureDeps) -> None:
    wait_for_key_caches(event.erased_at, deps.clock.now(), deps.key_cache_seconds)
    await deps.erasure.scrub(event.user_id, event.erased_at)


ERASURE_HANDLERS: EventHandlers[ErasureDeps] = {PersonalDataErased: on_erased}

"""A person erased (issue 30; docs/privacy.md, "Erasure in the notifier and the
mailgate"): the mailgate scrubs the mails it keeps of them.

The mailgate holds no keys and opens nothing, but the tickets service may still
be answering a mail of the person with their id while its own key cache lasts;
so the scrub waits, as every service's does (`wait_for_key_caches`: `NotYet`
hands the event back later), for `KEY_CACHE_SECONDS` after the erasure, the
other services' `HELPDESK_PRIVACY_KEY_CACHE_SECONDS` (30 s by default) with
room to spare. A mail answered even later is stored blank (`erased_people`).
"""

from __future__ import annotations

from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.mailgate.handlers.deps import ErasureDeps
from helpdesk.servicekit.erasure import wait_for_key_caches
from helpdesk.servicekit.events import EventHandlers

# The mailgate's settings have no key cache of their own to take it from.
KEY_CACHE_SECONDS = 35.0


async def on_erased(event: PersonalDataErased, deps: ErasureDeps) -> None:
    wait_for_key_caches(event.erased_at, deps.clock.now(), KEY_CACHE_SECONDS)
    await deps.erasure.scrub(event.user_id, event.erased_at)


ERASURE_HANDLERS: EventHandlers[ErasureDeps] = {PersonalDataErased: on_erased}

"""Identity's use cases: plain `async def use_case(command, deps) -> result`
functions that load, decide, save and answer (or raise a refusal). One module
per family, each with its table; `HANDLERS` is the whole service's."""

from __future__ import annotations

from helpdesk.identity.handlers import (
    activation,
    admin,
    erasure,
    export,
    factors,
    organisation,
    passkeys,
    people,
    recovery,
    registration,
    sessions,
)
from helpdesk.identity.handlers.deps import UseCases

HANDLERS: UseCases = {
    **registration.HANDLERS,
    **activation.HANDLERS,
    **sessions.HANDLERS,
    **recovery.HANDLERS,
    **admin.HANDLERS,
    **people.HANDLERS,
    **factors.HANDLERS,
    **organisation.HANDLERS,
    **passkeys.HANDLERS,
    **export.HANDLERS,
    **erasure.HANDLERS,
}

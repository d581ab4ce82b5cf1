"""The queues' names in the mails (docs/glossary.md): the routing policy gives each
queue a label per language, served by the tickets service's public priorities query
(`ListPriorities`, `PriorityInfo.queue_label`), as the gateway's portal reads them.

The notifier asks in a background loop and keeps the answer a few minutes; a mail
only reads what is kept, so a tickets service that does not answer delays no mail:
until it first answers (and with the last answer while it is away), a queue whose
name is not known is named by its key.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nats.aio.client import Client as NatsClient

from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import ListPriorities
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.requests import ask

log = get_logger(__name__)

KEEP_SECONDS = 300.0  # as the gateway keeps them (portal/rendering.py)
POLL_SECONDS = 1.0  # how soon a first (or failed) question is asked again (a pass with
# fresh names asks nothing): services start side by side, the tickets service often later
ASK_WITHIN = 2.0


class QueueKeys:
    """No names: every queue by its key (tools and tests that have no tickets service)."""

    def label(self, queue: str, locale: str) -> str:
        return queue


class TicketsQueueNames:
    """The names the tickets service last gave, asked again once they are
    `keep_seconds` old; `refresh` is the loop's pass (`ctx.periodically`)."""

    def __init__(
        self,
        nc: NatsClient | None,
        *,
        keep_seconds: float = KEEP_SECONDS,
        within: float = ASK_WITHIN,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nc = nc
        self.keep_seconds = keep_seconds
        self.within = within
        self.monotonic = monotonic
        self.labels: dict[str, dict[str, str]] = {}
        self.read_at: float | None = None
        self.unanswered = False  # told once per outage, not every pass

    def label(self, queue: str, locale: str) -> str:
        return self.labels.get(queue, {}).get(locale, queue)

    async def refresh(self) -> bool:
        """Ask unless the names are fresh; True if they were read now. No answer (or a
        refusal) keeps the last names, and the next pass asks again."""
        now = self.monotonic()
        if self.read_at is not None and now - self.read_at < self.keep_seconds:
            return False
        try:
            found = await ask(self.nc, ListPriorities(), within=self.within)
        except (ConnectionError, Refused) as exc:
            if not self.unanswered:
                log.warning(
                    "queue names not read; mails name queues by the last names or their key",
                    error=type(exc).__name__,
                )
            self.unanswered = True
            return False
        self.labels = {p.queue: dict(p.queue_label) for p in found.items if p.queue_label}
        self.read_at = now
        self.unanswered = False
        return True

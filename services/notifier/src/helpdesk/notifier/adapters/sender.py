"""The sender loop: sends recorded mails after their transaction committed.

Woken by NOTIFY when a consumer records mail (with polling as the fallback),
it claims due rows (a lease, committed before sending), sends them over a few
SMTP sessions at once and settles each one on its own, so one failing
recipient never holds up or re-sends the others. Under load the round trips
are shared: claims start at most every `min_round_seconds` (the mails
recorded meanwhile are claimed together), and mails accepted while one
`sent` update is under way are marked by the next, in one statement:

* accepted → `sent`;
* 5xx → `bounced` (counted, logged; never retried);
* anything else (refused, timeouts, 4xx) → retried with a doubling back-off
  until `mail_retry_seconds` after the mail was recorded, then `expired`.

A failure to even reach the server pauses claiming: one server failure is
counted per round of claimed mails (eight workers failing together are one
failure, not eight), and the pause doubles per failed round up to
`mail_retry_max_seconds`. While paused, a prober asks the server a cheap
question (connect, NOOP) on a short back-off (1 s doubling up to
`mail_probe_max_seconds`) and ends the pause when it answers, so mail resumes
within seconds of the server's return. Mails that failed because the server
was away are due again at once: the pause, not each mail, waits it out. The
pause still ends by itself after its back-off, so mails older than
`mail_retry_seconds` expire even if the server never returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from helpdesk.notifier.adapters.compose import ComposedMail
from helpdesk.notifier.adapters.queue import ClaimedMail, MailQueue
from helpdesk.notifier.adapters.smtp import SmtpConnections, describe, is_permanent, smtp_code
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import every, repeat
from helpdesk.servicekit.waits import woken

log = get_logger(__name__)

SENT = Counter("notifier_mails_sent_total", "Mails handed to the SMTP server", ["template"])
DEFERRED = Counter(
    "notifier_mail_attempts_deferred_total", "Send attempts that failed temporarily", ["template"]
)
BOUNCED = Counter("notifier_mails_bounced_total", "Mails refused permanently (5xx)", ["template"])
EXPIRED = Counter(
    "notifier_mails_expired_total", "Mails given up after retrying too long", ["template"]
)
UNREACHABLE_SINCE = Gauge(
    "notifier_smtp_unreachable_since_seconds",
    "Unix time since which the SMTP server cannot be reached (0: it can)",
)
# The prober's first wait after a failed round; it doubles up to mail_probe_max_seconds.
FIRST_PROBE_SECONDS = 1.0


class MailSender:
    def __init__(
        self,
        queue: MailQueue,
        smtp: SmtpConnections,
        settings: Settings,
        *,
        channel: str,
        poll_interval: float = 1.0,
        shutdown_grace: float = 5.0,
        min_round_seconds: float = 0.01,
        files: Callable[[ComposedMail], Awaitable[ComposedMail]] | None = None,
    ) -> None:
        self.queue = queue
        self.smtp = smtp
        self.settings = settings
        self.channel = channel
        self.poll_interval = poll_interval
        self.shutdown_grace = shutdown_grace
        self.min_round = min_round_seconds
        self.files = files  # puts a mail's attachments in (mail_files.MailFiles)
        self.workers = settings.mail_workers
        # aiosmtplib's timeout is per command; a whole send gets a few of them.
        self.send_timeout = 4 * settings.smtp_timeout
        # A crashed sender's mails wait this long before another takes them.
        self.lease_seconds = self.send_timeout + 15.0
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._claimed: set[int] = set()  # claimed and not yet settled
        self._accepted: list[int] = []  # sent, to be marked `sent` by the marker
        self._marker: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self._server_failures = 0  # failed rounds since the last mail the server accepted
        self._unreachable_since: datetime | None = None
        self._prober: asyncio.Task[None] | None = None

    @property
    def server_failures(self) -> int:
        """Rounds that failed to reach the server since it last accepted a mail."""
        return self._server_failures

    @property
    def unreachable_since(self) -> datetime | None:
        """When the SMTP server stopped answering, while it still does not."""
        return self._unreachable_since

    def degradation(self) -> str | None:
        """For /readyz: the service works, but mail waits for the server."""
        since = self._unreachable_since
        return f"SMTP server unreachable since {since.isoformat()}" if since else None

    def backoff(self, attempts: int) -> float:
        s = self.settings
        doubled = s.mail_retry_first_seconds * 2.0 ** max(0, attempts - 1)
        return float(min(s.mail_retry_max_seconds, doubled)) * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not security

    async def run(self) -> None:
        """Send forever; a lost database connection restarts the loop."""
        try:
            await repeat(
                self._run_listening,
                pause=every(self.poll_interval),
                failed="mail sender failed; restarting",
            )
        finally:
            await self._finish_inflight()

    async def _run_listening(self) -> None:
        pool = self.queue.pool
        assert pool is not None
        async with pool.acquire() as conn:
            await conn.add_listener(self.channel, self._notified)
            try:
                while True:
                    # Cleared before looking: a mail recorded while we claim wakes the next round.
                    self._wake.clear()
                    started = time.monotonic()
                    await self.send_due()
                    await woken(self._wake, self.poll_interval)
                    # Woken soon after the last claim: more mails are likely on their way.
                    if (since := time.monotonic() - started) < self.min_round:
                        await asyncio.sleep(self.min_round - since)
            finally:
                with contextlib.suppress(Exception):
                    await conn.remove_listener(self.channel, self._notified)

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def send_due(self) -> int:
        """Claim and start sending due mails while workers are free; returns how many."""
        started = 0
        while time.monotonic() >= self._paused_until:
            free = self.workers - len(self._inflight)
            if free <= 0:
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            batch = await self._claim(free)
            for claimed in batch:
                task = asyncio.create_task(self._attempt(claimed), name=f"mail-{claimed.id}")
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            started += len(batch)
            if len(batch) < free:
                break  # nothing more is due: no empty claim (a round trip and a commit)
        return started

    async def _claim(self, limit: int) -> list[ClaimedMail]:
        """Claim due mails. If we are stopped while the claim is under way, it
        may still commit: its rows are released so they need not wait out
        their lease."""
        claim = asyncio.ensure_future(self.queue.claim(limit, self.lease_seconds))
        try:
            batch = await asyncio.shield(claim)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.queue.release([c.id for c in await claim])
            raise
        self._claimed.update(c.id for c in batch)
        return batch

    async def drain(self) -> int:
        """Send every mail due now and wait for each outcome; returns how many."""
        started = await self.send_due()
        if self._inflight:
            await asyncio.wait(self._inflight)
        if self._marker:
            await asyncio.wait([self._marker])
        return started

    async def _finish_inflight(self) -> None:
        if self._inflight:
            _, late = await asyncio.wait(self._inflight, timeout=self.shutdown_grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._marker:
            # Mails already accepted by the server are marked before we go.
            _, late = await asyncio.wait([self._marker], timeout=self.shutdown_grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        if self._claimed:
            # Unsettled mails go back to the queue at once, for another replica or
            # the next start (if one was in fact sent: a resend, same Message-ID).
            with contextlib.suppress(Exception):
                await self.queue.release(sorted(self._claimed))
        self.smtp.close()

    async def _attempt(self, claimed: ClaimedMail) -> None:
        try:
            mail = await self.files(claimed.mail) if self.files else claimed.mail
            async with asyncio.timeout(self.send_timeout):
                await self.smtp.send(mail)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(claimed, exc)
            return
        self._server_failures = 0
        self._reachable()
        SENT.labels(claimed.template).inc()
        log.info("mail sent", template=claimed.template, delivery_id=claimed.id)
        self._accepted.append(claimed.id)
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_accepted(), name="mail-sent-marker")

    async def _mark_accepted(self) -> None:
        """Mark accepted mails `sent`, those accepted meanwhile in the next statement."""
        while self._accepted:
            ids, self._accepted = self._accepted, []
            await self._settle(ids, partial(self.queue.sent, ids))

    async def _failed(self, claimed: ClaimedMail, exc: Exception) -> None:
        reason = describe(exc)
        fields = {"template": claimed.template, "delivery_id": claimed.id, "error": reason}
        mail_id = claimed.id
        if is_permanent(exc):
            BOUNCED.labels(claimed.template).inc()
            await self._settle([mail_id], lambda: self.queue.give_up(mail_id, "bounced", reason))
            log.error("mail bounced", **fields)
            return
        age = (datetime.now(UTC) - claimed.created_at).total_seconds()
        if age >= self.settings.mail_retry_seconds:
            EXPIRED.labels(claimed.template).inc()
            await self._settle([mail_id], lambda: self.queue.give_up(mail_id, "expired", reason))
            log.error("mail expired after retrying", attempts=claimed.attempts, **fields)
            return
        DEFERRED.labels(claimed.template).inc()
        delay = self.backoff(claimed.attempts)
        if smtp_code(exc) is None:
            # The server itself is unreachable or stalled: the sender pauses, not the mail.
            delay = 0.0
            self._server_unreachable()
        await self._settle([mail_id], lambda: self.queue.retry(mail_id, delay, reason))
        log.warning(
            "mail not sent; will retry",
            attempts=claimed.attempts,
            retry_in=round(delay, 1),
            **fields,
        )

    def _server_unreachable(self) -> None:
        """Pause claiming, once per round: the workers of a round that fail
        together find the pause already set and count nothing more."""
        now = time.monotonic()
        if now < self._paused_until:
            return
        self._server_failures += 1
        self._paused_until = now + self.backoff(self._server_failures)
        if self._unreachable_since is None:
            self._unreachable_since = datetime.now(UTC)
            UNREACHABLE_SINCE.set(self._unreachable_since.timestamp())
            log.warning("SMTP server unreachable; mail waits")
        if self._prober is None or self._prober.done():
            self._prober = asyncio.create_task(self._probe_until_answered(), name="smtp-prober")

    def _reachable(self) -> None:
        """After an accepted mail: end the outage, if there was one (the pause and the
        prober exist only while `_unreachable_since` is set)."""
        if self._unreachable_since is None:
            return
        down = (datetime.now(UTC) - self._unreachable_since).total_seconds()
        log.info("SMTP server answers again; sending", unreachable_seconds=round(down, 1))
        self._unreachable_since = None
        UNREACHABLE_SINCE.set(0)
        self._paused_until = 0.0
        self._wake.set()

    def _probe_delay(self, probes: int) -> float:
        # Later failed rounds start probing later: a server that answers the probe
        # but drops every mail is not hammered.
        doubled = FIRST_PROBE_SECONDS * 2.0 ** (self._server_failures - 1 + probes)
        return min(self.settings.mail_probe_max_seconds, doubled) * random.uniform(0.9, 1.1)  # noqa: S311 - jitter

    async def _probe_until_answered(self) -> None:
        probes = 0
        while time.monotonic() < self._paused_until:
            await asyncio.sleep(self._probe_delay(probes))
            probes += 1
            try:
                async with asyncio.timeout(self.send_timeout):
                    await self.smtp.probe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("SMTP probe failed", error=describe(exc))
                continue
            log.info("SMTP probe answered; releasing the queue", probes=probes)
            self._paused_until = 0.0
            self._wake.set()
            return

    async def _settle(self, delivery_ids: list[int], action: Callable[[], Awaitable[None]]) -> None:
        """Record an outcome, retrying while the database is briefly away; if it
        stays away, the lease ends and the mail is tried again (same Message-ID)."""
        deadline = time.monotonic() + self.lease_seconds / 2
        while True:
            try:
                await action()
                self._claimed.difference_update(delivery_ids)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if time.monotonic() > deadline:
                    log.error("delivery outcome not recorded", error=repr(exc))
                    return
                await asyncio.sleep(1.0)

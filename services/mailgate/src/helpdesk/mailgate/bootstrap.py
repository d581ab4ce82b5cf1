"""Composition root of the mail gateway: the store, the tickets client and the
policy -> `Deps` -> the worker; the SMTP/LMTP listeners and the IMAP poller
keep mail, the explainer answers senders; the erasure consumer scrubs an erased
person's mails. `SERVICE` is what the runtime runs.

Tests build the same wiring with `wire(ctx)` and start the parts they need.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import partial

from helpdesk.contracts.mail import SERVICE as NAME
from helpdesk.mailgate.adapters.erasure import erasure_consumer
from helpdesk.mailgate.adapters.explanations import Explainer
from helpdesk.mailgate.adapters.files import KitFiles
from helpdesk.mailgate.adapters.imap import ImapMailbox, ImapPoller
from helpdesk.mailgate.adapters.smtp import IntakeHandler, accepts, listen, tls_context
from helpdesk.mailgate.adapters.store import PostgresMailStore, intake_consumer
from helpdesk.mailgate.adapters.tickets import NatsTickets
from helpdesk.mailgate.handlers.deps import Deps, MailPolicy
from helpdesk.mailgate.handlers.process import MailWorker
from helpdesk.mailgate.settings import Settings
from helpdesk.servicekit.blobs import NatsBlobStore
from helpdesk.servicekit.clock import Clock, SystemClock
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.runtime import Service, ServiceContext

log = get_logger(__name__)


def support_addresses(settings: Settings) -> tuple[str, ...]:
    """HELPDESK_SUPPORT_ADDRESSES, or the address of HELPDESK_MAIL_FROM."""
    found = [parseaddr(a)[1].lower() for a in settings.support_addresses]
    return tuple(a for a in found if "@" in a) or (parseaddr(settings.mail_from)[1].lower(),)


def policy_of(settings: Settings) -> MailPolicy:
    support = support_addresses(settings)
    return MailPolicy(
        reply_key=settings.mail_reply_key.get_secret_value().encode(),
        support=support,
        own=(*support, parseaddr(settings.mail_from)[1].lower()),
        hourly_limit=settings.mailgate_sender_hourly_limit,
    )


@dataclass
class MailGate:
    deps: Deps
    store: PostgresMailStore
    worker: MailWorker
    explainer: Explainer
    settings: Settings
    servers: list[asyncio.AbstractServer] = field(default_factory=list)

    def kept(self) -> None:
        self.worker.wake.set()

    async def start_listeners(self) -> None:
        s = self.settings
        accept = accepts(self.deps.policy.support)
        tls = tls_context(s.mailgate_tls_cert, s.mailgate_tls_key)
        for port, lmtp in ((s.mailgate_smtp_port, False), (s.mailgate_lmtp_port, True)):
            if port:
                handler = IntakeHandler(
                    self.store, accept, source="lmtp" if lmtp else "smtp", kept=self.kept
                )
                server = await listen(
                    handler, s.mailgate_smtp_host, port, max_bytes=s.mailgate_max_bytes,
                    lmtp=lmtp, tls=tls,
                )  # fmt: skip
                self.servers.append(server)

    def imap_poller(self) -> ImapPoller | None:
        """The poller of HELPDESK_MAILGATE_IMAP_URL's mailbox, when one is set."""
        secret = self.settings.mailgate_imap_url
        url = secret.get_secret_value() if secret is not None else ""
        if not url:
            return None
        return ImapPoller(
            ImapMailbox.from_url(url),
            self.store,
            interval=self.settings.mailgate_imap_interval,
            kept=self.kept,
        )

    async def keep_listening(self) -> None:
        """Runs as a kit loop: the listeners close when the service stops, before
        the database pool does."""
        try:
            await asyncio.Event().wait()
        finally:
            for server in self.servers:
                server.close()


def wire(ctx: ServiceContext[Settings], *, clock: Clock | None = None) -> MailGate:
    store = PostgresMailStore(ctx.pool)
    deps = Deps(
        store=store,
        tickets=NatsTickets(ctx.nats),
        clock=clock or SystemClock(),
        policy=policy_of(ctx.settings),
        files=KitFiles(
            NatsBlobStore(ctx.js),
            max_bytes=ctx.settings.attachment_max_bytes,
            clamd_url=ctx.settings.clamd_url,
        ),
    )
    return MailGate(
        deps=deps,
        store=store,
        worker=MailWorker(deps),
        explainer=Explainer(ctx.pool, ctx.settings),
        settings=ctx.settings,
    )


async def declare_bucket(ctx: ServiceContext[Settings]) -> None:
    """The attachments bucket, made if missing (the gateway declares it too); a
    failure is not fatal: storing a mail's files then waits and retries."""
    try:
        await NatsBlobStore(ctx.js).ensure(ctx.settings.nats_stream_replicas)
    except Exception as exc:
        log.warning("attachments bucket not declared", error=repr(exc))


async def start(ctx: ServiceContext[Settings]) -> MailGate:
    """Wire the mail intake and open its listeners as the service starts; its loops
    run as the kit's background loops, watched by /healthz. A listener that cannot
    bind fails the start: the service stops, saying why."""
    await declare_bucket(ctx)
    gate = wire(ctx)
    await gate.start_listeners()
    ctx.background("mail-listeners", gate.keep_listening)
    ctx.background("mail-worker", gate.worker.run)
    ctx.background("mail-explainer", gate.explainer.run)
    poller = gate.imap_poller()
    if poller is not None:
        ctx.background("imap-poller", poller.run)
    return gate


def build(ctx: ServiceContext[Settings]) -> None:
    """Registers what the kit serves; the intake is wired and started by the kit
    before the first message (`start`), not here: the AsyncAPI generator calls
    `build` with no servers and no settings."""
    # Not subscribed: lets `helpdesk redrive mailgate <id>` queue a parked mail again.
    ctx.consumers.append(intake_consumer())
    # A person erased: their kept mails scrubbed once no service can open their data.
    ctx.consume(erasure_consumer(key_cache_seconds=ctx.settings.privacy_key_cache_seconds))
    ctx.at_start(partial(start, ctx))


SERVICE = Service(
    name=NAME,
    settings=Settings,
    build=build,
    migrations="helpdesk.mailgate.migrations",
)

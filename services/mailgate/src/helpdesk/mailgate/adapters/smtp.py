"""The SMTP and LMTP listener (aiosmtpd) the company MTA forwards support mail to.

* Recipients: only the support addresses and their `+` forms; anything else is
  refused at RCPT (550), so the MTA bounces it and nothing is kept.
* Size: `HELPDESK_MAILGATE_MAX_BYTES` (default 25 MiB), announced in EHLO
  (`SIZE`) and refused beyond with 552.
* 250 means kept: the reply to DATA is sent only after the raw mail is
  committed to PostgreSQL. If the database is away the answer is 451 (try
  later) and the MTA keeps the mail in its queue: delayed, never dropped.
* STARTTLS when a certificate and key are configured.

The servers run on the service's own event loop (not aiosmtpd's `Controller`
thread), so they share its database pool.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from helpdesk.contracts.mail import split_address
from helpdesk.mailgate.adapters.store import PostgresMailStore
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


def accepts(support: Collection[str]) -> Callable[[str], bool]:
    """Whether a recipient is a support address or one of its `+` forms."""
    bases = {(b, d) for b, _, d in (split_address(a) for a in support)}

    def check(address: str) -> bool:
        base, _, domain = split_address(address)
        return (base, domain) in bases

    return check


class IntakeHandler:
    """aiosmtpd's handler: RCPT checks the recipient, DATA keeps the mail."""

    def __init__(
        self,
        store: PostgresMailStore,
        accept: Callable[[str], bool],
        *,
        source: str,
        kept: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.accept = accept
        self.source = source
        self.kept = kept

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not self.accept(address):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        try:
            kept = await self.store.keep(
                raw,
                # A null reverse-path (a bounce) is "" however the client wrote it.
                envelope_from=(envelope.mail_from or "").strip("<>"),
                recipients=envelope.rcpt_tos,
                source=self.source,
            )
        except Exception as exc:
            log.warning("mail not kept; asked the sender to retry", error=type(exc).__name__)
            return self._each("451 4.3.0 Cannot keep the mail right now; try again later", envelope)
        log.info(
            "mail kept",
            mail_id=str(kept.mail_id),
            duplicate=kept.duplicate,
            size=len(raw),
            source=self.source,
        )
        if not kept.duplicate:
            self.kept()
        return self._each(f"250 2.0.0 Kept as {kept.mail_id}", envelope)

    def _each(self, status: str, envelope: Envelope) -> str:
        """LMTP answers DATA once per recipient (RFC 2033); SMTP once."""
        if self.source != "lmtp":
            return status
        return "\r\n".join(status for _ in envelope.rcpt_tos or [""])


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None or key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def listen(
    handler: IntakeHandler,
    host: str,
    port: int,
    *,
    max_bytes: int,
    lmtp: bool = False,
    tls: ssl.SSLContext | None = None,
    hostname: str | None = None,
) -> asyncio.Server:
    """Start an SMTP (or LMTP) server on this event loop."""
    protocol = LMTP if lmtp else SMTP
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return protocol(
            handler,
            data_size_limit=max_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="helpdesk mailgate",
            tls_context=tls,
            timeout=120,
            loop=loop,
        )

    server = await loop.create_server(factory, host=host, port=port)
    log.info("listening", protocol="lmtp" if lmtp else "smtp", host=host, port=port)
    return server

"""IMAP polling of a hosted mailbox (Microsoft 365, Gmail, any IMAP server).

`HELPDESK_MAILGATE_IMAP_URL` = `imaps://user:password@host[:port]/MAILBOX`
(`imap://` without TLS, for a server on the same host; `?auth=xoauth2` sends
the password as an OAuth2 access token). Every `HELPDESK_MAILGATE_IMAP_INTERVAL`
seconds the poller logs in, takes the unseen mails (`BODY.PEEK[]`: reading
does not mark them), keeps each in the store and only then flags it `\\Seen`.
A crash between the two fetches the mail again next time, and the store
recognises it (same bytes / Message-ID): nothing is lost, nothing doubled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aioimaplib

from helpdesk.mailgate.adapters.store import PostgresMailStore
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.loops import every, repeat

log = get_logger(__name__)

_UID = re.compile(rb"UID (\d+)")
FETCH_LIMIT = 50  # mails per poll: a full mailbox is drained over several polls


@dataclass(frozen=True)
class ImapMailbox:
    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    tls: bool = True
    xoauth2: bool = False

    @classmethod
    def from_url(cls, url: str) -> ImapMailbox:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("expected imaps://user:password@host[:port]/MAILBOX")
        tls = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if tls else 143),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=tls,
            xoauth2="auth=xoauth2" in parts.query.lower(),
        )

    def __repr__(self) -> str:  # never the password
        return f"ImapMailbox({self.user}@{self.host}:{self.port}/{self.mailbox})"


class ImapError(Exception):
    pass


def _check(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        raise ImapError(f"{what}: {response.result}")
    return response


class ImapPoller:
    def __init__(
        self,
        mailbox: ImapMailbox,
        store: PostgresMailStore,
        *,
        interval: float,
        kept: Callable[[], None] = lambda: None,
        timeout: float = 30.0,
    ) -> None:
        self.mailbox = mailbox
        self.store = store
        self.interval = interval
        self.kept = kept
        self.timeout = timeout

    async def run(self) -> None:
        # The server is away: try again next time.
        await repeat(
            self.poll,
            pause=every(self.interval),
            failed="imap poll failed",
            mailbox=repr(self.mailbox),
        )

    async def _connect(self) -> aioimaplib.IMAP4:
        m = self.mailbox
        client: aioimaplib.IMAP4
        if m.tls:
            client = aioimaplib.IMAP4_SSL(host=m.host, port=m.port, timeout=self.timeout)
        else:
            client = aioimaplib.IMAP4(host=m.host, port=m.port, timeout=self.timeout)
        await client.wait_hello_from_server()
        if m.xoauth2:
            _check(await client.xoauth2(m.user, m.password), "XOAUTH2")
        else:
            _check(await client.login(m.user, m.password), "LOGIN")
        _check(await client.select(m.mailbox), "SELECT")
        return client

    async def poll(self) -> int:
        """Keep every unseen mail, then flag it; returns how many were new."""
        client = await self._connect()
        new = 0
        try:
            found = _check(await client.uid_search("UNSEEN", charset=None), "SEARCH")
            uids = [u for line in found.lines[:1] for u in bytes(line).split() if u.isdigit()]
            for uid in [u.decode() for u in uids[:FETCH_LIMIT]]:
                fetched = _check(await client.uid("fetch", uid, "(BODY.PEEK[])"), "FETCH")
                raw = next((bytes(x) for x in fetched.lines if isinstance(x, bytearray)), None)
                if raw is None:
                    continue
                kept = await self.store.keep(raw, envelope_from=None, recipients=(), source="imap")
                # Only now that it is kept: flag it, so it is not fetched again.
                _check(await client.uid("store", uid, "+FLAGS", "(\\Seen)"), "STORE")
                if not kept.duplicate:
                    new += 1
                    self.kept()
            if new:
                log.info("imap mails kept", count=new, mailbox=repr(self.mailbox))
        finally:
            try:
                await client.logout()
            except Exception as exc:
                log.debug("imap logout failed", error=repr(exc))
        return new

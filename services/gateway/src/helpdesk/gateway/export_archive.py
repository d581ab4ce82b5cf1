"""A person's data export as a streamed ZIP (docs/privacy.md, "Export"), for the API
(`routes/export.py`) and the portal (`portal/routes_my_data.py`) alike.

The first page of every service's part is asked before the answer starts, so a
refusal (403, 404) or an outage (503) is an ordinary problem; the rest is asked
while the ZIP is being written. What a page brings is written and forgotten:
the gateway holds one page and one file chunk at a time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.export import (
    AccountExport,
    ExportAccount,
    ExportedTicket,
    ExportMails,
    ExportTickets,
    MailsExport,
    TicketsExport,
)
from helpdesk.gateway.commands import send
from helpdesk.gateway.downloads import blob_store, content_disposition
from helpdesk.gateway.export_zip import Entry, ZipStream, safe_name, unique_name, zipped
from helpdesk.servicekit.blobs import BlobStore
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

ZIP = "application/zip"
ItemT = TypeVar("ItemT", bound=BaseModel)

README: dict[str, str] = {
    "el": """\
Τα δεδομένα σας στο Helpdesk
============================

Εξαγωγή για: {name} ({username}), {date}.

Τι περιέχει το αρχείο
---------------------
profile.json     Ο λογαριασμός σας: όνομα, όνομα σύνδεσης, e-mail, γλώσσα, ρόλοι,
                 προέλευση (τοπικός ή του οργανισμού), ημερομηνίες εγγραφής και
                 ενεργοποίησης, δεύτεροι παράγοντες (είδος και ημερομηνία), οι αλλαγές
                 του λογαριασμού (είδος και ώρα) και οι αποτυχημένες συνδέσεις (ώρα και
                 διεύθυνση IP).
sign-ins.json    Οι συνδέσεις σας: πότε άρχισε, ανανεώθηκε και έληξε κάθε σύνδεση και γιατί.
tickets/         Ένα αρχείο JSON για κάθε αίτημά σας ({tickets}): τα στοιχεία του, το
                 ιστορικό που βλέπετε κι εσείς στο αίτημα, οι αξιολογήσεις σας και τα
                 συνημμένα του.
files/           Τα συνημμένα των αιτημάτων σας ({files}), σε έναν φάκελο ανά αίτημα.
ratings.json     Οι αξιολογήσεις σας για την εξυπηρέτηση.
mails.json       Τα e-mail που σας έστειλε το Helpdesk: είδος, κατάσταση, πότε μπήκαν
                 στην ουρά και πότε στάλθηκαν. Το θέμα και το κείμενο υπάρχουν μόνο
                 όσο ένα e-mail περιμένει να σταλεί· μετά την αποστολή δεν κρατούνται.

Τι δεν περιέχει και γιατί
-------------------------
- Τις εσωτερικές σημειώσεις των τεχνικών: είναι οι σημειώσεις εργασίας τους και
  δεν τις βλέπετε ούτε στο αίτημα. Το ίδιο ισχύει για τις ειδοποιήσεις SLA και
  τους λόγους ανάθεσης.
- Καταχωρίσεις άλλων προσώπων (όχι τεχνικών) στα αιτήματά σας: εμφανίζονται ως
  "another_person", χωρίς όνομα και κείμενο, για να μείνει πλήρες το ιστορικό.
- Μυστικά: κωδικούς πρόσβασης (ούτε το hash τους), συνδέσμους ενεργοποίησης και
  επαναφοράς, κωδικούς ανάκτησης, κλειδιά TOTP και passkey.
- Τη διεύθυνση IP μιας επιτυχημένης σύνδεσης: το Helpdesk δεν την καταγράφει.
- Τα αρχικά e-mail όπως ήρθαν: το κείμενό τους είναι στο ιστορικό του αιτήματος
  και τα συνημμένα τους στον φάκελο files/.
- Τα αρχεία καταγραφής (logs) και τα αντίγραφα ασφαλείας: δεν οργανώνονται ανά πρόσωπο.

Τα ονόματα των τεχνικών εμφανίζονται όπως στο αίτημα: ενεργούν με την
επαγγελματική τους ιδιότητα. Οι ώρες είναι σε UTC (ISO 8601).
""",
    "en": """\
Your data in the Helpdesk
=========================

Export for: {name} ({username}), {date}.

What the archive holds
----------------------
profile.json     Your account: name, username, e-mail address, language, roles,
                 source (local or your organisation's), when it was registered and
                 activated, your second factors (kind and date), the account's
                 changes (kind and time) and failed sign-ins (time and IP address).
sign-ins.json    Your sign-ins: when each session started, was renewed and ended, and why.
tickets/         One JSON file per request of yours ({tickets}): its facts, the history
                 you also see on the request, your ratings and its attachments.
files/           The attachments of your requests ({files}), one folder per request.
ratings.json     Your satisfaction ratings.
mails.json       The e-mails the Helpdesk sent you: kind, status, when they were queued
                 and sent. Subject and text exist only while a mail waits to be sent;
                 they are not kept once it is sent.

What it leaves out, and why
---------------------------
- The agents' internal notes: they are the agents' working notes, which you do not
  see on the request either. The same goes for SLA alerts and reasons for assignment.
- Entries by other people (not agents) on your requests: they appear as
  "another_person", without a name or text, so the history stays whole.
- Secrets: passwords (not even their hashes), activation and reset links, recovery
  codes, TOTP and passkey keys.
- The IP address of a successful sign-in: the Helpdesk does not record it.
- Incoming mails as they arrived: their text is in the request's history and their
  attachments are in files/.
- Logs and backups: they are not organised by person.

Agents are named as on the request: they act in their professional role. Times are
UTC (ISO 8601).
""",
}


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n").encode()


async def _json_array(items: AsyncIterator[BaseModel]) -> AsyncIterator[bytes]:
    """A JSON array written an item at a time (one page of items held at most)."""
    separator = b"[\n"
    async for item in items:
        yield separator + item.model_dump_json(indent=2).encode()
        separator = b",\n"
    yield b"[]\n" if separator == b"[\n" else b"\n]\n"


async def _paged(
    first: list[ItemT],
    cursor: str | None,
    fetch: Callable[[str], Awaitable[tuple[list[ItemT], str | None]]],
) -> AsyncIterator[ItemT]:
    """The items of the first page, then of every next one, fetched when reached."""
    items = first
    while True:
        for item in items:
            yield item
        if cursor is None:
            return
        items, cursor = await fetch(cursor)


class _Export:
    """One person's export: what the first pages said, and how to ask for more."""

    def __init__(
        self,
        request: Request,
        actor: Actor,
        account: AccountExport,
        tickets: TicketsExport,
        mails: MailsExport,
        blobs: BlobStore,
        now: datetime,
    ) -> None:
        self.request, self.actor, self.user_id = request, actor, account.user_id
        self.account, self.tickets, self.mails = account, tickets, mails
        self.blobs, self.now = blobs, now
        self.ratings: list[dict[str, Any]] = []

    def readme(self) -> bytes:
        text = README[self.account.locale].format(
            name=self.account.name,
            username=self.account.username,
            date=self.now.strftime("%Y-%m-%d %H:%M UTC"),
            tickets="tickets/<number>.json",
            files="files/<number>/",
        )
        return text.encode()

    async def _sessions(self, cursor: str) -> tuple[list[Any], str | None]:
        page = await send(
            self.request, ExportAccount(actor=self.actor, user_id=self.user_id, cursor=cursor)
        )
        return list(page.sessions), page.next_cursor

    async def _mails(self, cursor: str) -> tuple[list[Any], str | None]:
        page = await send(
            self.request,
            ExportMails(
                actor=self.actor,
                user_id=self.user_id,
                addresses=[self.account.email],
                cursor=cursor,
            ),
        )
        return list(page.items), page.next_cursor

    async def _tickets(self, cursor: str) -> tuple[list[ExportedTicket], str | None]:
        page = await send(
            self.request, ExportTickets(actor=self.actor, user_id=self.user_id, cursor=cursor)
        )
        return page.items, page.next_cursor

    async def _ticket(self, ticket: ExportedTicket) -> AsyncIterator[Entry]:
        """The ticket's JSON (each file with its path in the archive), then its files."""
        folder = f"files/{safe_name(ticket.number)}"
        taken: set[str] = set()
        present = []
        data = ticket.model_dump(mode="json")
        for file, listed in zip(ticket.files, data["files"], strict=True):
            info = await self.blobs.info(file.sha256)
            if info is None:  # its bytes are gone (removed elsewhere): listed, not included
                listed["path"] = None
                continue
            path = f"{folder}/{unique_name(safe_name(file.file_name), taken)}"
            listed["path"] = path
            present.append((path, info))
        yield Entry(f"tickets/{safe_name(ticket.number)}.json", _json(data))
        self.ratings += [
            {"ticket": ticket.number, **r.model_dump(mode="json")} for r in ticket.ratings
        ]
        for path, info in present:
            yield Entry(path, chunks=self.blobs.read(info, 0, info.size), size=info.size)

    async def entries(self) -> AsyncIterator[Entry]:
        account = self.account
        yield Entry("README.txt", self.readme())
        yield Entry(
            "profile.json",
            _json(account.model_dump(mode="json", exclude={"sessions", "next_cursor"})),
        )
        sessions = _paged(list(account.sessions), account.next_cursor, self._sessions)
        yield Entry("sign-ins.json", chunks=_json_array(sessions))
        async for ticket in _paged(self.tickets.items, self.tickets.next_cursor, self._tickets):
            async for entry in self._ticket(ticket):
                yield entry
        yield Entry("ratings.json", _json(self.ratings))
        mails = _paged(list(self.mails.items), self.mails.next_cursor, self._mails)
        yield Entry("mails.json", chunks=_json_array(mails))


async def _logged(pieces: AsyncIterator[bytes], user_id: UUID) -> AsyncIterator[bytes]:
    """The archive's bytes; a failure once they flow can only cut the download short."""
    try:
        async for piece in pieces:
            yield piece
    except Exception as exc:
        log.error("export interrupted", user_id=str(user_id), error=type(exc).__name__)
        raise


async def export_response(request: Request, actor: Actor, user_id: UUID) -> StreamingResponse:
    """The ZIP of everything the helpdesk keeps of `user_id`, as `actor` may have it."""
    account = await send(request, ExportAccount(actor=actor, user_id=user_id))
    tickets = await send(request, ExportTickets(actor=actor, user_id=user_id))
    mails = (
        await send(request, ExportMails(actor=actor, user_id=user_id, addresses=[account.email]))
        if account.email
        else MailsExport(items=[])
    )
    blobs = blob_store(request)
    now = datetime.now(UTC)
    export = _Export(request, actor, account, tickets, mails, blobs, now)
    name = f"helpdesk-export-{safe_name(account.username)}-{now:%Y-%m-%d}.zip"
    pieces = zipped(export.entries(), ZipStream(now))
    return StreamingResponse(
        _logged(pieces, user_id),
        media_type=ZIP,
        headers={
            "Content-Disposition": content_disposition(name),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )

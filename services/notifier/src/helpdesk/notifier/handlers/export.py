"""The notifier's part of a person's data export (docs/privacy.md, "Export"): the
mails it recorded for their addresses, a page at a time.

The notifier keeps no accounts: the gateway passes the addresses identity gave it
for the same export, and the caller (proven by the kit) must be the person or an
admin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from pydantic import BaseModel

from helpdesk.contracts import export as contract
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Refused

MAILS_PER_PAGE = 200


class MailRecords(Protocol):
    async def page(
        self, addresses: list[str], after: int, limit: int
    ) -> tuple[list[contract.ExportedMail], int | None]: ...


@dataclass(frozen=True)
class ExportDeps:
    mails: MailRecords


class Forbidden(Refused):
    code = "forbidden"
    default_message = "Only the person themselves or an admin may export their data."


class BadCursor(Refused):
    code = "validation_error"
    default_message = "Some fields are invalid."
    field_error = ("cursor", "not a cursor of this export")


async def export_mails(query: contract.ExportMails, deps: ExportDeps) -> contract.MailsExport:
    if not query.allowed:
        raise Forbidden()
    if query.cursor is not None and not query.cursor.isdigit():
        raise BadCursor()
    after = int(query.cursor or 0)
    mails, last = await deps.mails.page(query.addresses, after, MAILS_PER_PAGE)
    return contract.MailsExport(items=mails, next_cursor=str(last) if last is not None else None)


ExportUseCases: TypeAlias = Mapping[
    type[Request[Any]], Callable[[Any, ExportDeps], Awaitable[BaseModel]]
]

EXPORT_QUERIES: ExportUseCases = {contract.ExportMails: export_mails}

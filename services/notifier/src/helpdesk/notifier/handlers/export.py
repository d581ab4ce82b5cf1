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

MAILS_PER_PAGE = 200


class MailRecords(Protocol):
    async def page(
        self, addresses: list[str], after: int, limit: int
    ) -> tuple[list[contract.ExportedMail], int | None]: ...


@dataclass(frozen=True)
class ExportDeps:
    mails: MailRecords


async def export_mails(query: contract.ExportMails, deps: ExportDeps) -> contract.MailsExport:
    query.ensure_allowed()
    mails, last = await deps.mails.page(query.addresses, query.position(), MAILS_PER_PAGE)
    return contract.MailsExport(items=mails, next_cursor=str(last) if last is not None else None)


ExportUseCases: TypeAlias = Mapping[
    type[Request[Any]], Callable[[Any, ExportDeps], Awaitable[BaseModel]]
]

EXPORT_QUERIES: ExportUseCases = {contract.ExportMails: export_mails}

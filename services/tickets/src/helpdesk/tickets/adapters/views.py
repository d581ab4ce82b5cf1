"""The `TicketViews` port: the read models' queries (lists, search, history)
on the unit of work's connection."""

from __future__ import annotations

from datetime import datetime

from helpdesk.contracts.reports import GroupBy, SlaReportRow
from helpdesk.contracts.tickets import TicketList, TicketSearchResults
from helpdesk.servicekit.db import Connection
from helpdesk.tickets.adapters import history, read_model, search
from helpdesk.tickets.handlers.deps import SearchQuery, TicketFilter


class PostgresViews:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def page(self, filters: TicketFilter, *, cursor: str | None, limit: int) -> TicketList:
        return await read_model.ticket_list(self.conn, filters, cursor=cursor, limit=limit)

    async def search(self, query: SearchQuery) -> TicketSearchResults:
        return await search.search(self.conn, query)

    async def page_as_of(
        self, filters: TicketFilter, as_of: datetime, *, cursor: str | None, limit: int
    ) -> TicketList:
        return await history.list_as_of(self.conn, filters, as_of, cursor=cursor, limit=limit)

    async def sla_report(
        self, *, start: datetime, end: datetime, as_of: datetime, group_by: GroupBy
    ) -> tuple[list[SlaReportRow], SlaReportRow]:
        return await history.sla_report(
            self.conn, start=start, end=end, as_of=as_of, group_by=group_by
        )

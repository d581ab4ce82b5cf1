"""The tickets service's mail requests over NATS (`tickets.mail.submit`, `.reply`,
`.attach`),
which only the mailgate's NATS identity may publish (docs/security.md)."""

from __future__ import annotations

from typing import TypeVar

from nats.aio.client import Client as NatsClient
from pydantic import BaseModel

from helpdesk.contracts.attachments import AttachFromMail, FilesAttached
from helpdesk.contracts.messages import Request
from helpdesk.contracts.subjects import CORRELATION_HEADER
from helpdesk.contracts.tickets import MessageAdded, ReplyFromMail, SubmitFromMail, Submitted
from helpdesk.servicekit.requests import ask
from helpdesk.servicekit.runtime import current_correlation_id

ResultT = TypeVar("ResultT", bound=BaseModel)


class NatsTickets:
    def __init__(self, nc: NatsClient, timeout: float = 10.0) -> None:
        self.nc = nc
        self.timeout = timeout

    async def _send(self, command: Request[ResultT]) -> ResultT:
        # A refusal raises the contracts' Refused; no answer, Unanswered (a
        # ConnectionError: the mail is tried again later).
        headers = {CORRELATION_HEADER: current_correlation_id()}
        return await ask(self.nc, command, within=self.timeout, headers=headers)

    async def submit(self, command: SubmitFromMail) -> Submitted:
        return await self._send(command)

    async def reply(self, command: ReplyFromMail) -> MessageAdded:
        return await self._send(command)

    async def attach(self, command: AttachFromMail) -> FilesAttached:
        return await self._send(command)

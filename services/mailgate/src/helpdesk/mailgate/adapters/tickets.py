"""The tickets service's mail requests over NATS (`tickets.mail.submit`, `.reply`,
`.attach`),
which only the mailgate's NATS identity may publish (docs/security.md)."""

from __future__ import annotations

from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel

from helpdesk.contracts.attachments import AttachFromMail, FilesAttached
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Refused, Reply
from helpdesk.contracts.subjects import CORRELATION_HEADER
from helpdesk.contracts.tickets import MessageAdded, ReplyFromMail, SubmitFromMail, Submitted
from helpdesk.servicekit.runtime import current_correlation_id

ResultT = TypeVar("ResultT", bound=BaseModel)


class NatsTickets:
    def __init__(self, nc: NatsClient, timeout: float = 10.0) -> None:
        self.nc = nc
        self.timeout = timeout

    async def _send(self, command: Request[Any], result_type: type[ResultT]) -> ResultT:
        try:
            msg = await self.nc.request(
                command.nats_subject(),
                command.model_dump_json().encode(),
                timeout=self.timeout,
                headers={CORRELATION_HEADER: current_correlation_id()},
            )
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise TimeoutError(type(exc).__name__) from None
        except nats.errors.Error as exc:
            raise ConnectionError(type(exc).__name__) from None
        reply = Reply[result_type].model_validate_json(msg.data)  # type: ignore[valid-type]
        if not reply.ok or reply.result is None:
            error = reply.error
            code = error.code if error else "internal"
            raise Refused(error.message if error else "no result", code=code)
        return reply.result

    async def submit(self, command: SubmitFromMail) -> Submitted:
        return await self._send(command, Submitted)

    async def reply(self, command: ReplyFromMail) -> MessageAdded:
        return await self._send(command, MessageAdded)

    async def attach(self, command: AttachFromMail) -> FilesAttached:
        return await self._send(command, FilesAttached)

"""Pydantic contracts shared by every helpdesk service: events, commands, replies."""

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.replies import ERROR_STATUS, CommandError, Empty, FieldError, Reply

__all__ = [
    "ERROR_STATUS",
    "CommandError",
    "Empty",
    "EventData",
    "EventEnvelope",
    "FieldError",
    "Reply",
]

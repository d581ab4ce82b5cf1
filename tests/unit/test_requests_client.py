"""The kit's one request–reply client parses a reply the same way for every
caller: the result, or the service's refusal with all it said."""

from __future__ import annotations

import pytest

from helpdesk.contracts.replies import FieldError, Refused, Reply
from helpdesk.contracts.tickets import GetTicket
from helpdesk.servicekit.requests import Unanswered, ask, result_of


def get_ticket() -> GetTicket:
    from uuid import uuid4

    from helpdesk.contracts.actors import Actor, Role

    return GetTicket(actor=Actor(user_id=uuid4(), roles=[Role.CUSTOMER]), ticket_id=uuid4())


def test_a_refusal_comes_back_with_code_fields_and_retry_after() -> None:
    reply = Reply.failure(
        "validation_error",
        "Some fields are invalid.",
        field_errors=[FieldError(field="subject", message="too long")],
        retry_after=7,
    )
    with pytest.raises(Refused) as refused:
        result_of(get_ticket(), reply.model_dump_json().encode())
    error = refused.value.error
    assert (error.code, error.message, error.retry_after) == (
        "validation_error",
        "Some fields are invalid.",
        7,
    )
    assert error.field_errors == [FieldError(field="subject", message="too long")]


async def test_no_connection_is_unanswered_not_a_crash() -> None:
    with pytest.raises(Unanswered) as unanswered:
        await ask(None, get_ticket(), within=1)
    assert unanswered.value.why == "not_connected"
    assert isinstance(unanswered.value, ConnectionError)

"""Free text at the edge: control characters and line separators are refused with
field errors before anything reaches a service (a NUL in a username used to
reach PostgreSQL, which refused it, and the client got 503)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpdesk.contracts.identity import Credentials, NewPassword, Registration
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import MessageDraft, TicketDraft


def fields_refused(model: type[object], **values: object) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model(**values)  # type: ignore[operator]
    return {str(e["loc"][0]) for e in caught.value.errors()}


def test_a_nul_byte_in_a_login_is_a_field_error() -> None:
    assert fields_refused(Credentials, username="maria\x00", password="x\x00y") == {
        "username",
        "password",
    }


def test_one_line_fields_refuse_line_and_paragraph_separators() -> None:
    draft = {"description": "ok", "priority": Priority.LOW}
    assert fields_refused(TicketDraft, subject="one\u2028two", **draft) == {"subject"}
    assert "name" in fields_refused(
        Registration, name="Μαρία\u2029", username="maria", email="m@example.org", password="p"
    )


def test_multi_line_text_keeps_its_line_breaks_but_not_control_characters() -> None:
    assert MessageDraft(body="line one\nline two\r\n\ttabbed").body.count("\n") == 2
    assert fields_refused(MessageDraft, body="bell\x07") == {"body"}


def test_tokens_are_opaque_url_safe_strings_of_bounded_length() -> None:
    assert NewPassword(token="Ab-_9.x", new_password="a long passphrase").token == "Ab-_9.x"
    assert fields_refused(NewPassword, token="has space", new_password="x") == {"token"}
    assert fields_refused(NewPassword, token="t" * 201, new_password="x") == {"token"}

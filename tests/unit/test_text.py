"""Free text at the edge: control characters and line separators are refused with
field errors before anything reaches a service (a NUL in a username used to
reach PostgreSQL, which refused it, and the client got 503)."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from helpdesk.contracts.identity import Credentials, NewPassword, Registration
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.text import LINES, NO_CONTROL_CHARS, SECRET, SINGLE_LINE, TEXT, TextRule
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
    assert MessageDraft(body="👨\u200d💻 ήρθε ο τεχνικός").body.startswith("👨\u200d💻")


def test_tokens_are_opaque_url_safe_strings_of_bounded_length() -> None:
    assert NewPassword(token="Ab-_9.x", new_password="a long passphrase").token == "Ab-_9.x"
    assert fields_refused(NewPassword, token="has space", new_password="x") == {"token"}
    assert fields_refused(NewPassword, token="t" * 201, new_password="x") == {"token"}


REFUSED_ANYWHERE = {"Cc", "Cf", "Cs", "Co"}


def test_each_rule_refuses_exactly_its_unicode_categories() -> None:
    """The rules' character classes are written out (a JSON Schema pattern cannot ask
    Unicode); this walks every code point against this Python's Unicode database."""
    wrong = []
    for code_point in range(0x110000):
        ch = chr(code_point)
        category = unicodedata.category(ch)
        expected = {
            NO_CONTROL_CHARS: category not in REFUSED_ANYWHERE | {"Zl", "Zp"},
            LINES: category not in REFUSED_ANYWHERE or ch in "\t\n\r\u200c\u200d",
            SECRET: category not in {"Cc", "Cs"},
        }
        for rule, accepted in expected.items():
            if (rule.compiled.fullmatch(ch) is not None) != accepted:
                wrong.append((hex(code_point), category, rule.message))
    assert wrong == []


@pytest.mark.parametrize(
    ("rule", "value", "accepted"),
    [
        (SINGLE_LINE, "  Εκτυπωτής 3ου ορόφου  ", True),
        (SINGLE_LINE, " \u3000 ", False),  # blank, however wide
        (SINGLE_LINE, "a\nb", False),
        (TEXT, "γραμμή\n\tδεύτερη\r\n", True),
        (TEXT, "\n\n", False),
        (TEXT, "zero\u200bwidth", False),
        (TEXT, "ο τεχνικός 👨\u200d💻 ήρθε", True),  # an emoji joined by U+200D
        (SINGLE_LINE, "Μαρία\u200d", False),  # never in a name or a subject
        (LINES, "", True),
        (SECRET, "pass\u200bword \U000f0000", True),
    ],
)
def test_a_rule_checks_a_value_as_its_pattern_tells_clients(
    rule: TextRule, value: str, accepted: bool
) -> None:
    assert (re.fullmatch(rule.pattern[1:-1], value) is not None) == accepted
    if accepted:
        assert rule(value) == (value.strip() if rule.strip else value)
    else:
        with pytest.raises(ValueError, match=rule.message):
            rule(value)


def test_the_document_states_each_field_s_rule_as_its_pattern() -> None:
    schema = TicketDraft.model_json_schema()["properties"]
    assert schema["subject"]["pattern"] == SINGLE_LINE.pattern
    assert schema["description"]["pattern"] == TEXT.pattern

    # A field with a pattern of its own keeps it, and the text rule joins it.
    class Probe(BaseModel):
        code: Annotated[str, Field(pattern=r"^[a-z ]+$"), NO_CONTROL_CHARS]

    code = Probe.model_json_schema()["properties"]["code"]
    assert code["pattern"] == "^[a-z ]+$"
    assert code["allOf"] == [{"pattern": NO_CONTROL_CHARS.pattern}]

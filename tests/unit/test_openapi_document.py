"""The OpenAPI document's promises, checked on the document itself (fast; the
running system is checked against it by tests/api/test_spec_conformance.py)."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.devstack.keys import generate_keypair
from helpdesk.gateway.bootstrap import create_app
from helpdesk.gateway.openapi import answers, status_of
from helpdesk.gateway.problems import PROBLEM_JSON
from helpdesk.gateway.settings import Settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    _, public_key = generate_keypair()
    return create_app(Settings(jwt_public_key=public_key)).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/")
    ]


def test_every_problem_is_problem_json_with_its_codes(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        responses = operation["responses"]
        assert {"500", "503"} <= set(responses), (method, path)
        for status, response in responses.items():
            if int(status) < 400:
                continue
            content = response["content"]
            assert list(content) == [PROBLEM_JSON], (method, path, status)
            narrowed = content[PROBLEM_JSON]["schema"]["allOf"][1]["properties"]
            codes = narrowed["code"]["enum"]
            assert codes, (method, path, status)
            assert all(status_of(code) == int(status) for code in codes), (method, path)
            if status in ("429", "503"):
                assert response["headers"]["Retry-After"]["required"], (method, path)


def test_operations_of_a_caller_declare_bearer_and_401(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if operation.get("security"):
            assert "401" in operation["responses"], (method, path)
    submit = document["paths"]["/api/v1/tickets"]["post"]
    assert submit["security"] == [{"HTTPBearer": []}]
    assert {"unauthenticated", "token_expired", "token_revoked"} <= set(
        submit["responses"]["401"]["content"][PROBLEM_JSON]["schema"]["allOf"][1]["properties"][
            "code"
        ]["enum"]
    )


def test_a_422_lists_its_field_errors(document: dict[str, Any]) -> None:
    response = document["paths"]["/api/v1/accounts"]["post"]["responses"]["422"]
    assert response["content"][PROBLEM_JSON]["schema"]["allOf"][1]["required"] == ["errors"]
    assert "errors" in document["components"]["schemas"]["Problem"]["properties"]


def test_request_schemas_carry_the_password_and_username_rules(document: dict[str, Any]) -> None:
    registration = document["components"]["schemas"]["Registration"]["properties"]
    assert registration["password"]["minLength"] == 10
    assert registration["password"]["maxLength"] == 128
    assert registration["username"]["minLength"] == 3
    assert "pattern" in registration["username"]


def test_headers_and_links_where_they_apply(document: dict[str, Any]) -> None:
    submit = document["paths"]["/api/v1/tickets"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in submit["parameters"]}
    links = submit["responses"]["201"]["links"]
    assert {"GetTicket", "AddMessage"} <= set(links)


def test_answers_groups_codes_by_status() -> None:
    declared = answers("not_found", "ticket_closed", "conflict", extra={201: {"links": {}}})
    assert declared[404]["x-problem-codes"] == ["not_found"]
    assert declared[409]["x-problem-codes"] == ["ticket_closed", "conflict"]
    assert declared[201] == {"links": {}}

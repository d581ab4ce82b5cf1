"""What /openapi.json says each operation can answer: derived, not listed by hand.

A route names only the refusals of its own commands,
`responses=answers("not_found", "ticket_closed")`; everything else comes from
one place each, so a new route (or a new refusal) cannot drift from the
document (docs/api.md, "Errors"):

1. Every API operation can answer 500 `internal_error` and 503 `unavailable`
   (a service or NATS not answering; with `Retry-After`).
2. The route's shape: a dependency on the caller (`CurrentActor`) adds 401
   (`unauthenticated`, `token_expired`, `token_revoked`) and the Bearer security
   requirement; any parameter or body adds 422 `validation_error` with `errors`;
   a JSON body adds 413 `payload_too_large` (the body limit) and 400
   `bad_request` (a body that is not JSON at all).
3. Each code's status comes from `ERROR_STATUS` (the services' codes) or
   `GATEWAY_STATUS` (the gateway's own), never from the route.

Every problem is `application/problem+json` with the `Problem` schema, its
`code` narrowed to the codes that status can carry; 429 and 503 declare the
`Retry-After` header.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from helpdesk.contracts.replies import ERROR_STATUS
from helpdesk.gateway.auth import current_actor
from helpdesk.gateway.problems import PROBLEM_JSON, TITLES, UNLISTED_STATUS

API_PREFIX = "/api/"
_CODES = "x-problem-codes"  # carried from answers() to the document builder, then removed

# The gateway's own problems (its limits, uploads and downloads), beside the services'.
GATEWAY_STATUS: dict[str, int] = {
    "bad_request": 400,
    "token_revoked": 401,
    "attachment_removed": 410,
    "payload_too_large": 413,
    "file_too_large": 413,
    "ticket_files_too_large": 413,
    "unsupported_media_type": 415,
    "unsupported_type": 415,
    "range_not_satisfiable": 416,
    "too_many_files": 422,
    "empty_file": 422,
    "damaged_image": 422,
    "image_too_large": 422,
    "unreadable_file": 422,
    "malware_found": 422,
    "internal_error": 500,
}

_EVERY_OPERATION = ("internal_error", "unavailable")
_CALLER = ("unauthenticated", "token_expired", "token_revoked")
_INPUT = ("validation_error",)
_JSON_BODY = ("payload_too_large", "bad_request")  # too large; not JSON at all

# Statuses that tell the client when to try again.
RETRY_STATUSES = (429, 503)


def status_of(code: str) -> int:
    """The HTTP status of a problem code, as `ProblemError.from_command_error` maps it."""
    return GATEWAY_STATUS.get(code) or ERROR_STATUS.get(code, UNLISTED_STATUS)


def answers(
    *codes: str, extra: dict[int | str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the problems its commands can refuse with (by code),
    merged with any other response it declares (`extra`: successes, links)."""
    responses = {status: dict(value) for status, value in (extra or {}).items()}
    for code in codes:
        entry = responses.setdefault(status_of(code), {})
        entry.setdefault(_CODES, []).append(code)
    return responses


def _depends_on_caller(dependant: Dependant) -> bool:
    return any(d.call is current_actor or _depends_on_caller(d) for d in dependant.dependencies)


def _has_input(dependant: Dependant) -> bool:
    params = (
        dependant.path_params,
        dependant.query_params,
        dependant.header_params,
        dependant.body_params,
    )
    return any(params) or any(_has_input(d) for d in dependant.dependencies)


def derived_codes(route: Any) -> list[str]:
    """The problems a route can answer because of its shape (module doc, 1 and 2)."""
    codes = list(_EVERY_OPERATION)
    if _depends_on_caller(route.dependant):
        codes += _CALLER
    if _has_input(route.dependant):
        codes += _INPUT
    if route.body_field is not None:
        codes += _JSON_BODY
    return codes


def problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457 problem details, with the helpdesk's `code`",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "description": "/problems/<code>"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "for people; English"},
            "instance": {"type": "string"},
            "code": {"type": "string", "description": "stable; what a client branches on"},
            "errors": {
                "type": "array",
                "description": "422: what is wrong with each field",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }


def _problem_response(status: int, codes: Iterable[str]) -> dict[str, Any]:
    narrowed: dict[str, Any] = {
        "properties": {"code": {"enum": sorted(set(codes))}, "status": {"enum": [status]}}
    }
    if status == 422:
        narrowed["required"] = ["errors"]
    response: dict[str, Any] = {
        "description": TITLES.get(status, "Error"),
        "content": {
            PROBLEM_JSON: {
                "schema": {"allOf": [{"$ref": "#/components/schemas/Problem"}, narrowed]}
            }
        },
    }
    if status in RETRY_STATUSES:
        response["headers"] = {
            "Retry-After": {
                "description": "seconds to wait before trying again",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    return response


def _declare_problems(operation: dict[str, Any], derived: list[str]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    by_status: dict[int, list[str]] = {}
    for code in derived:
        by_status.setdefault(status_of(code), []).append(code)
    for key, response in responses.items():
        if _CODES in response:
            by_status.setdefault(int(key), []).extend(response.pop(_CODES))
    for status, codes in by_status.items():
        problem = _problem_response(status, codes)
        problem["description"] = (
            responses.get(str(status), {}).get("description") or (problem["description"])
        )
        responses[str(status)] = problem


def operation_id(route: APIRoute) -> str:
    """The route function's name (`submit`, `get_ticket`): the generated clients' names."""
    return route.name


def build_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with every operation's problems declared (module doc)."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = problem_schema()
    for schema in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(schema, None)
    paths = document.get("paths", {})
    for route in api_routes(app):
        derived = derived_codes(route)
        for method in route.methods:
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _declare_problems(operation, derived)
    return document


def api_routes(app: FastAPI) -> Iterator[Any]:
    """The /api routes in the document, as FastAPI sees them once included (a
    RouteContext: the route with its router's prefix and dependencies)."""
    for context in iter_route_contexts(app.routes):
        path: str = getattr(context, "path_format", "") or ""
        included = getattr(context, "include_in_schema", False)
        if (
            isinstance(context.original_route, APIRoute)
            and included
            and path.startswith(API_PREFIX)
        ):
            yield context


def install_openapi(app: FastAPI) -> None:
    """Serve the derived document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

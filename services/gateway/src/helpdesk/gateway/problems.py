"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from helpdesk.contracts.replies import ERROR_STATUS, CommandError, FieldError
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
# A service's code that ERROR_STATUS does not list.
UNLISTED_STATUS = 400
# A 429 or 503 always says when to try again (the document declares the header).
DEFAULT_RETRY_AFTER = 5


class ProblemError(Exception):
    """Raised anywhere in the gateway; rendered as problem+json (or a portal page)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []
        self.retry_after = retry_after

    @classmethod
    def from_command_error(cls, error: CommandError) -> ProblemError:
        return cls(
            ERROR_STATUS.get(error.code, UNLISTED_STATUS),
            error.code,
            error.message,
            errors=error.field_errors,
            retry_after=error.retry_after,
        )

    def with_log(self, reason: str) -> ProblemError:
        log.warning("problem", code=self.code, status=self.status, reason=reason)
        return self

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.code}",
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "code": self.code,
        }
        if self.errors or self.status == 422:  # a 422 always lists its field errors
            body["errors"] = [e.model_dump() for e in self.errors]
        return body

    def response(self, instance: str) -> JSONResponse:
        retry_after = self.retry_after
        if retry_after is None and self.status in (429, 503):
            retry_after = DEFAULT_RETRY_AFTER
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return JSONResponse(
            self.body(instance), status_code=self.status, headers=headers, media_type=PROBLEM_JSON
        )


def logged_path(request: Request) -> str:
    """The path a log line names: the matched route's template
    (`/helpdesk/{lang}/rate/{token}`), so no token a URL carries reaches the logs;
    the raw path only when no route matched (nothing of ours was in it)."""
    template = getattr(request.scope.get("route"), "path", None)
    if not isinstance(template, str):
        return request.url.path
    # FastAPI keeps an included router's own route (no prefix): the path's first
    # segments beyond the template's are that prefix (`/helpdesk`).
    segments = request.url.path.split("/")
    prefix = segments[: max(1, len(segments) - template.count("/"))]
    return "/".join(prefix) + template


def field_errors_of(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        errors.append(FieldError(field=".".join(loc) or "body", message=str(err.get("msg"))))
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def on_problem(request: Request, exc: ProblemError) -> JSONResponse:
        return exc.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = ProblemError(
            422, "validation_error", "Some fields are invalid.", errors=field_errors_of(exc)
        )
        return problem.response(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "bad_request",  # a body FastAPI cannot even parse
            401: "unauthenticated",
            404: "not_found",
            405: "method_not_allowed",
        }.get(exc.status_code, "http_error")
        return ProblemError(exc.status_code, code, str(exc.detail)).response(request.url.path)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=logged_path(request))
        return ProblemError(500, "internal_error", "Something went wrong on our side.").response(
            request.url.path
        )

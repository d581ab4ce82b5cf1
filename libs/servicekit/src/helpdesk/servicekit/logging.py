"""structlog JSON logging with correlation ids, and no secret in any line."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from pydantic import ValidationError

SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "token",
        "refresh_token",
        "access_token",
        "secret",
        "authorization",
    }
)


def redact_secrets(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in event_dict:
        if key.lower() in SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def describe_error(exc: BaseException) -> str:
    """An exception for a log line or a dead-letter row, without the input values a
    pydantic error quotes (a message's fields: a sealed token, an address, a body)."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        return f"ValidationError({exc.title}: {problems})"
    return repr(exc)


def configure_logging(service: str, log_format: str = "json", level: int = logging.INFO) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries that use the standard logging module go to the same stream.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s %(message)s")


def bind_correlation_id(correlation_id: str | None) -> None:
    if correlation_id:
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
    else:
        structlog.contextvars.unbind_contextvars("correlation_id")


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


class IdleFetchTimeouts(logging.Filter):
    """Drops FastStream's "… raised an exception, retrying" traceback when the
    exception is a timeout: a pull consumer's fetch that finds nothing to fetch
    (at start, before its consumer answers, or on an idle stream) times out by
    design, and FastStream's supervisor then starts the fetch loop again. Read
    by operators as an error, it was noise; any other exception still logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, TimeoutError) and "retrying" in record.getMessage())


def quiet_idle_fetch_timeouts(logger: logging.Logger) -> None:
    if not any(isinstance(f, IdleFetchTimeouts) for f in logger.filters):
        logger.addFilter(IdleFetchTimeouts())

"""FastStream's supervisor logs "… raised an exception, retrying" with a traceback
when a pull consumer's fetch times out (normal when nothing is there to fetch);
the broker's logger drops exactly those lines and keeps every other error."""

from __future__ import annotations

import logging

import nats.errors
import pytest

from helpdesk.servicekit.logging import quiet_idle_fetch_timeouts

RETRYING = (
    "Task-12 raised an exception, retrying...\n"
    "If this behavior causes issues, you can disable it via setting "
    "the FASTSTREAM_SUPERVISOR_DISABLED env to 1."
)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logger() -> tuple[logging.Logger, Collect]:
    log = logging.getLogger("test.idle_fetch")
    log.propagate = False
    log.handlers = [collect := Collect()]
    log.filters = []
    quiet_idle_fetch_timeouts(log)
    quiet_idle_fetch_timeouts(log)  # once only
    assert len(log.filters) == 1
    return log, collect


@pytest.mark.parametrize("timeout", [TimeoutError(), nats.errors.TimeoutError()])
def test_a_fetch_timeout_retry_is_not_logged(
    logger: tuple[logging.Logger, Collect], timeout: Exception
) -> None:
    log, collect = logger
    log.log(logging.ERROR, RETRYING, exc_info=timeout)
    assert collect.records == []


def test_other_errors_and_other_timeouts_are_still_logged(
    logger: tuple[logging.Logger, Collect],
) -> None:
    log, collect = logger
    log.log(logging.ERROR, RETRYING, exc_info=ValueError("broken handler"))
    log.log(logging.ERROR, "publish failed", exc_info=TimeoutError())
    assert [r.getMessage().split()[0] for r in collect.records] == ["Task-12", "publish"]

"""`make run`'s log retention (docs/privacy.md): the previous run's logs are set
aside at start, and set-aside logs older than HELPDESK_LOG_RETENTION_DAYS go."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpdesk.devstack.logs import retention_days, rotate_logs

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def written(path: Path, at: datetime) -> Path:
    path.write_text("line\n")
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


def test_logs_are_set_aside_and_old_ones_deleted(tmp_path: Path) -> None:
    current = written(tmp_path / "gateway.log", NOW - timedelta(hours=1))
    recent = written(tmp_path / "gateway.20261201-090000.log", NOW - timedelta(days=6))
    old = written(tmp_path / "tickets.20261101-090000.log", NOW - timedelta(days=36))

    assert rotate_logs(tmp_path, 14, NOW) == [old]
    assert not current.exists()
    assert not old.exists()
    assert recent.exists()
    assert (tmp_path / "gateway.20261207-110000.log").read_text() == "line\n"
    assert rotate_logs(tmp_path / "absent", 14, NOW) == []


@pytest.mark.parametrize(("raw", "days"), [("", 14.0), ("30", 30.0), ("0.5", 0.5)])
def test_the_setting(monkeypatch: pytest.MonkeyPatch, raw: str, days: float) -> None:
    monkeypatch.setenv("HELPDESK_LOG_RETENTION_DAYS", raw)
    assert retention_days() == days


@pytest.mark.parametrize("raw", ["many", "0", "-3"])
def test_a_bad_setting_stops_with_one_line(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("HELPDESK_LOG_RETENTION_DAYS", raw)
    with pytest.raises(SystemExit, match="HELPDESK_LOG_RETENTION_DAYS"):
        retention_days()

"""The log files `make run` writes keep personal data no longer than
HELPDESK_LOG_RETENTION_DAYS (docs/privacy.md, "Retention"): at each start the
previous run's `<name>.log` files are set aside as `<name>.<date>-<time>.log`
(the time of their last line), and those older than the retention are deleted.
The logs carry ids, not names or addresses, but a stack trace may quote a value."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_RETENTION_DAYS = 14.0


def retention_days() -> float:
    raw = os.environ.get("HELPDESK_LOG_RETENTION_DAYS", "")
    try:
        days = float(raw) if raw else DEFAULT_RETENTION_DAYS
    except ValueError:
        raise SystemExit(f"HELPDESK_LOG_RETENTION_DAYS: not a number: {raw!r}") from None
    if days <= 0:
        raise SystemExit("HELPDESK_LOG_RETENTION_DAYS: must be greater than 0")
    return days


def _last_written(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def rotate_logs(directory: Path, keep_days: float, now: datetime) -> list[Path]:
    """Set the current logs aside and delete the set-aside ones past `keep_days`;
    returns the deleted files."""
    if not directory.is_dir():
        return []
    for current in directory.glob("*.log"):
        if current.stem.count(".") == 0:  # `gateway.log`, not `gateway.20261207-1130.log`
            stamp = _last_written(current).strftime("%Y%m%d-%H%M%S")
            current.rename(current.with_name(f"{current.stem}.{stamp}.log"))
    cutoff = now - timedelta(days=keep_days)
    deleted = []
    for old in directory.glob("*.*.log"):
        if _last_written(old) < cutoff:
            old.unlink()
            deleted.append(old)
    return deleted

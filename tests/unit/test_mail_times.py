"""Every time in a mail is Athens time: the password-changed mail said
"2026-12-06 23:43 UTC", another day for a reader in Greece (issue 26)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

from helpdesk.notifier.domain.texts import local_time
from helpdesk.notifier.handlers import identity as identity_mails


def test_a_utc_moment_is_written_in_athens_time() -> None:
    assert local_time(datetime(2026, 12, 6, 23, 43, tzinfo=UTC)) == "07/12/2026 01:43"
    assert local_time(datetime(2026, 7, 1, 9, 0, tzinfo=UTC)) == "01/07/2026 12:00"  # EEST
    assert local_time(None) == "-"


def test_no_mail_module_formats_a_time_in_utc() -> None:
    source = inspect.getsource(identity_mails)
    assert "UTC" not in source
    assert "local_time(event.changed_at)" in source

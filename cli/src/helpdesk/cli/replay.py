"""`helpdesk assignment-replay`: what a queue policy would have done with the
tickets since a day, beside what really happened (the tickets service replays
its stored events; docs/workspace.md). Changes nothing."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from helpdesk.contracts.agents import AssignmentReplay

ATHENS = ZoneInfo("Europe/Athens")
HEADER = ("agent", "would receive", "received", "peak open (replay)", "peak open (actual)")


def since_of(text: str) -> datetime:
    """`2026-10-01` (midnight in Athens, the helpdesk's clock) or an ISO instant with a zone."""
    try:
        return datetime.combine(date.fromisoformat(text), time(), ATHENS)
    except ValueError:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r}: give a day (2026-10-01) or a time with its zone")
    return moment


def table(found: AssignmentReplay) -> str:
    """The per-agent table and the spread of open load, replayed against actual."""
    rows = [HEADER] + [
        (
            row.name or str(row.user_id),
            str(row.replayed),
            str(row.actual),
            str(row.replayed_peak_open),
            str(row.actual_peak_open),
        )
        for row in found.rows
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    scope = f"queue {found.queue}" if found.queue else "every queue"
    return "\n".join(
        [
            f"{found.policy} replayed over {found.tickets} tickets submitted since "
            f"{found.since.isoformat()} ({scope}); nothing was changed",
            *lines,
            f"nobody available (left unassigned by the replay): {found.unassigned}",
            "open-load spread (max - min open tickets among the queue's members, as each "
            f"ticket arrived): replay mean {found.replayed_spread_mean:.2f}, max "
            f"{found.replayed_spread_max}; actual mean {found.actual_spread_mean:.2f}, max "
            f"{found.actual_spread_max}",
        ]
    )

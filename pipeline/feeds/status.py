"""Feed state a person can read: one row per member of the fleet, from its schedule document.

    state       new · ok · not modified · failing since <when> (hard|soft) · throttled until <when>
    last fetch, next due, items found in the last 24 h, consecutive failures, the last error (one line)

`newswire feeds status` prints these rows (a table, or one JSON object per line with `--json`);
the documents come from the checkpoint files (embedded) or the state changelog (distributed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from pipeline.feeds.schedule import DAY, items_since

__all__ = ["FeedRow", "feed_row", "summary", "when"]


@dataclass
class FeedRow:
    """One member of the fleet as `newswire feeds status` shows it."""

    name: str
    url: str
    fleet: str | None
    state: str
    status: str
    last_fetch: str | None
    next_due: str | None
    items_24h: int
    failures: int
    failing_since: str | None
    throttled_until: str | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def when(moment: Any) -> str | None:
    """An epoch time as ISO 8601 UTC to the second (None stays None)."""
    if not isinstance(moment, (int, float)):
        return None
    return datetime.fromtimestamp(moment, tz=timezone.utc).replace(microsecond=0).isoformat()


def _clock(moment: Any) -> str:
    return (when(moment) or "?").replace("+00:00", "Z")


def _state(schedule: Mapping[str, Any], now: float) -> tuple[str, str]:
    status = schedule.get("status")
    if not status:
        return "new", "new"
    if status == "throttled":
        until = schedule.get("throttled_until")
        if isinstance(until, (int, float)) and until > now:
            return status, f"throttled until {_clock(until)}"
        return status, "throttled"
    if status == "failing":
        return status, f"failing since {_clock(schedule.get('failing_since'))} ({schedule.get('failure') or 'soft'})"
    return status, "not modified" if status == "not_modified" else "ok"


def feed_row(name: str, url: str, fleet: str | None, schedule: Mapping[str, Any], now: float) -> FeedRow:
    """The row of one member from its schedule document (an empty one: never polled yet)."""
    status, state = _state(schedule, now)
    failures = schedule.get("failures")
    return FeedRow(
        name=name,
        url=url,
        fleet=fleet,
        state=state,
        status=status,
        last_fetch=when(schedule.get("last_fetch")),
        next_due=when(schedule.get("next_due")),
        items_24h=items_since(schedule.get("found"), now - DAY),
        failures=int(failures) if isinstance(failures, (int, float)) else 0,
        failing_since=when(schedule.get("failing_since")),
        throttled_until=when(schedule.get("throttled_until")),
        last_error=schedule.get("last_error") if isinstance(schedule.get("last_error"), str) else None,
    )


def summary(rows: list[FeedRow]) -> str:
    """`12 feeds: 9 ok, 1 not modified, 1 failing, 1 throttled` (kinds that occur only)."""
    counts: dict[str, int] = {}
    for row in rows:
        label = row.status.replace("_", " ")
        counts[label] = counts.get(label, 0) + 1
    order = ["ok", "not modified", "failing", "throttled", "new"]
    parts = [f"{counts[label]} {label}" for label in order if counts.get(label)]
    return f"{len(rows)} feed{'s' if len(rows) != 1 else ''}" + (f": {', '.join(parts)}" if parts else "")

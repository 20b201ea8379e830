"""When a feed is polled next: adaptive intervals, failure classes and capped backoff, as pure functions.

After every read the fleet turns what happened into an `Outcome` and asks `plan()` for the
feed's new schedule document (stored beside its checkpoint, so it moves with the feed):

    success      the interval adapts to how much was new, within [min_interval, max_interval]:
                   half or more of the listed entries new   × 0.5   (entries may slip off between polls)
                   some new                                  × 0.8
                   nothing new (304, same body, no new ids)  × 1.25
                 a configured `interval` pins it instead. The source's own minimum (`<ttl>`,
                 sy:updatePeriod, Cache-Control max-age) is a lower bound, capped at max_interval.
    hard         404/410, not a feed, an unusable URL: backoff from 4 × the interval
    soft         timeouts, 5xx, DNS, refused connections: backoff from the interval
    throttled    429/503: backoff, and never sooner than Retry-After (capped at one day)

Backoff is the project's one formula (`backoff_delay`: doubling, capped at `max_backoff`,
+0-25 % jitter). A failing feed is never dropped: it is retried at the capped interval and
its document says since when it fails and why. Facts behind the numbers: Miniflux polls
between 5 min and 24 h by entry frequency, raised to TTL / Cache-Control / Retry-After;
Media Cloud's rss-fetcher adapts by the share of already-seen stories between 10 min and 24 h
and caps Retry-After at a day.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.errors import SourceRejected, Throttled, backoff_delay

__all__ = [
    "OK", "NOT_MODIFIED", "HARD", "SOFT", "THROTTLED", "FAILURES",
    "Outcome", "Bounds", "classify", "adapt", "plan", "items_since", "MAX_RETRY_AFTER",
]

OK, NOT_MODIFIED, HARD, SOFT, THROTTLED = "ok", "not_modified", "hard", "soft", "throttled"
FAILURES = frozenset({HARD, SOFT, THROTTLED})
MAX_RETRY_AFTER = 24 * 3600.0
DEFAULT_RETRY_AFTER = 60.0
DAY = 24 * 3600.0
HARD_HEAD_START = 2  # a hard failure backs off as if it had failed twice more: 4 × the interval first
ERROR_CHARS = 300


@dataclass(frozen=True)
class Outcome:
    """One read, as the scheduler sees it."""

    kind: str = OK
    new: int = 0
    listed: int | None = None
    requested: float | None = None  # the source's own minimum interval
    retry_after: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Bounds:
    """The fleet's limits, in seconds (FleetSettings)."""

    min_interval: float = 600.0
    max_interval: float = DAY
    start_interval: float = 3600.0
    max_backoff: float = DAY

    @classmethod
    def of(cls, fleet: Any) -> "Bounds":
        return cls(fleet.min_interval, fleet.max_interval, fleet.start_interval, fleet.max_backoff)

    def clamp(self, seconds: float) -> float:
        return min(self.max_interval, max(self.min_interval, seconds))


def classify(error: BaseException | None, not_modified: bool = False) -> str:
    """The failure class of what a read raised (OK / NOT_MODIFIED when it raised nothing)."""
    if error is None:
        return NOT_MODIFIED if not_modified else OK
    if isinstance(error, Throttled):
        return THROTTLED
    if isinstance(error, SourceRejected):
        return HARD
    return SOFT


def adapt(interval: float, new: int, listed: int | None, bounds: Bounds) -> float:
    """The next interval of an adaptive feed after a successful poll that found `new` of `listed` entries."""
    if new <= 0:
        factor = 1.25
    elif listed and new * 2 >= listed:
        factor = 0.5
    else:
        factor = 0.8
    return bounds.clamp(interval * factor)


def items_since(found: Any, since: float) -> int:
    """New entries counted in a schedule's `found` list ([[when, how many], ...]) since `since`."""
    total = 0
    for pair in found if isinstance(found, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (int, float)) and pair[0] >= since:
            total += int(pair[1]) if isinstance(pair[1], (int, float)) else 0
    return total


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and value > 0 else default


def plan(previous: Mapping[str, Any], outcome: Outcome, *, pinned: float | None, bounds: Bounds, now: float,
         rng: random.Random | None = None) -> dict[str, Any]:
    """The feed's schedule document after `outcome` (a whole document: it replaces the previous one)."""
    interval = _number(previous.get("interval"), bounds.start_interval)
    found = [pair for pair in previous.get("found") or [] if isinstance(pair, list) and len(pair) == 2
             and isinstance(pair[0], (int, float)) and pair[0] >= now - DAY]
    document: dict[str, Any] = {
        "last_fetch": now,
        "found": found,
        "last_new": previous.get("last_new"),
        "last_ok": previous.get("last_ok"),
    }
    if outcome.kind in FAILURES:
        failures = int(_number(previous.get("failures"), 0)) + 1
        base = pinned if pinned else interval
        steps = failures + (HARD_HEAD_START if outcome.kind == HARD else 0)
        delay = backoff_delay(steps, base, max(bounds.max_backoff, base), rng)
        throttled_until = None
        if outcome.kind == THROTTLED:
            wait = min(outcome.retry_after if outcome.retry_after is not None else DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER)
            delay = max(delay, wait)
            throttled_until = now + wait
        document.update(
            status="throttled" if outcome.kind == THROTTLED else "failing",
            failure=outcome.kind,
            interval=interval,
            failures=failures,
            failing_since=previous.get("failing_since") or now,
            throttled_until=throttled_until,
            last_error=" ".join((outcome.error or outcome.kind).split())[:ERROR_CHARS],
            next_due=now + delay,
        )
        return document
    if not pinned:
        interval = adapt(interval, outcome.new, outcome.listed, bounds)
    delay = pinned or interval
    if outcome.requested:
        delay = max(delay, min(outcome.requested, bounds.max_interval))
    if outcome.new > 0:
        found.append([now, outcome.new])
        document["last_new"] = now
    document.update(
        status="not_modified" if outcome.kind == NOT_MODIFIED else "ok",
        failure=None,
        interval=interval,
        failures=0,
        failing_since=None,
        throttled_until=None,
        last_error=None,
        last_ok=now,
        next_due=now + delay,
    )
    return document

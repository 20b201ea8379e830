"""Prometheus metrics for the workers, and a watch that says so when a worker stops making progress."""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter, Gauge, Histogram, start_http_server

__all__ = [
    "RECORDS_IN", "RECORDS_OUT", "RECORDS_FAILED", "BATCH_SECONDS", "CONSUMER_LAG", "serve_metrics", "ProgressWatch",
    "FEEDS_DUE", "FEEDS_IN_FLIGHT", "FEEDS_FAILING", "FEEDS_KNOWN", "FEED_READ_SECONDS",
]

logger = logging.getLogger(__name__)

RECORDS_IN = Counter("newswire_records_in_total", "Records a worker read", ["role"])
RECORDS_OUT = Counter("newswire_records_out_total", "Records a worker delivered (produced or indexed)", ["role"])
RECORDS_FAILED = Counter("newswire_records_failed_total", "Records a worker dead-lettered", ["role"])
BATCH_SECONDS = Histogram(
    "newswire_batch_seconds", "Time to process one batch, output acknowledged", ["role"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
CONSUMER_LAG = Gauge("newswire_consumer_lag", "Records waiting on the worker's assigned partitions", ["role"])
FEEDS_DUE = Gauge("newswire_feeds_due", "Fleet members due now and waiting for a slot (their host's or the fleet's)")
FEEDS_IN_FLIGHT = Gauge("newswire_feeds_in_flight", "Fleet members being read now")
FEEDS_FAILING = Gauge("newswire_feeds_failing", "Fleet members whose last read failed (hard, soft or throttled)")
FEEDS_KNOWN = Gauge("newswire_feeds", "Fleet members this process polls")
FEED_READ_SECONDS = Histogram(
    "newswire_feed_fetch_seconds", "Time to fetch and read one member, by outcome (ok, not_modified, hard, soft, throttled)",
    ["outcome"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60),
)
LAST_PROGRESS = Gauge("newswire_last_progress_timestamp_seconds", "When the worker last completed a batch", ["role"])

_served_on: set[int] = set()


def serve_metrics(port: int | None) -> None:
    """Serve /metrics on `port` (once per process; 0 or None serves nothing)."""
    if port and port not in _served_on:
        start_http_server(port)
        _served_on.add(port)
        logger.info("metrics served port=%d", port)


class ProgressWatch:
    """Counts each completed batch; a watchdog thread warns when work waits but nothing completes.

    "Waiting" is a batch in flight or a consumer lag above zero; the warning repeats once per
    `stall_after` seconds for as long as the stall lasts.
    """

    def __init__(self, role: str, stall_after: float) -> None:
        self.role = role
        self.stall_after = stall_after
        self._last = time.monotonic()
        self._warned_at = 0.0
        self._waiting = 0
        self._in_flight = False
        self._stop = threading.Event()
        LAST_PROGRESS.labels(role).set_to_current_time()

    def start(self) -> "ProgressWatch":
        period = max(0.5, min(5.0, self.stall_after / 4))
        thread = threading.Thread(target=self._watch, args=(period,), name=f"newswire-watch-{self.role}", daemon=True)
        thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def batch_started(self) -> None:
        self._in_flight = True

    def progressed(self, records_in: int, records_out: int, failed: int, seconds: float) -> None:
        self._last = time.monotonic()
        self._in_flight = False
        RECORDS_IN.labels(self.role).inc(records_in)
        RECORDS_OUT.labels(self.role).inc(records_out)
        RECORDS_FAILED.labels(self.role).inc(failed)
        BATCH_SECONDS.labels(self.role).observe(seconds)
        LAST_PROGRESS.labels(self.role).set_to_current_time()

    def lag(self, waiting: int) -> None:
        self._waiting = waiting
        CONSUMER_LAG.labels(self.role).set(waiting)

    def stalled(self) -> bool:
        """True (and a warning, once per period) if work waits and nothing completed for `stall_after` s."""
        now = time.monotonic()
        stalled = (self._in_flight or self._waiting > 0) and now - self._last > self.stall_after
        if stalled and now - self._warned_at > self.stall_after:
            self._warned_at = now
            logger.warning(
                "worker stalled role=%s seconds_without_progress=%.0f batch_in_flight=%s waiting_records=%d",
                self.role, now - self._last, self._in_flight, self._waiting,
            )
        return stalled

    def _watch(self, period: float) -> None:
        while not self._stop.wait(period):
            self.stalled()

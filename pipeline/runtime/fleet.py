"""The fleet: every member read concurrently and politely, delivered in batches, each rescheduled by what it found.

    members (sources.py / ownership.py) ──▶ due heap ──▶ per-host queues ──▶ bounded thread pool: read()
         ▲                                                                        │ batches, held one back so the
         │ next due (pipeline.feeds.schedule)                                      │ last carries the schedule change
         └──── commit the checkpoint and schedule changes ◀── output (merged, ≤ nlp.batch_size) ◀── queue

Concurrency is `fleet.concurrency` members in flight, not a thread per feed: a due member's first
request starts at once on the shared asyncio loop (`Connector.prefetch`, pipeline.plugin.hosts)
and a pool of `fleet.read_threads` threads parses the answers as they come in, so a slow or dead
feed waits on the loop without holding a thread, and thousands of members cost their state and
nothing else. Dispatch is by host: at most
`fleet.per_host` members of one host are read at once, hosts take turns, a host that asked us
to wait (Retry-After) is left alone until then, and the gate spaces request starts by
`host_delay`, for feed polls and full-text fetches alike. Output runs in the calling thread,
one merged batch at a time; only after it is safe are the changes its parts carried committed
(connector state first, then the schedule), in order. The same article listed by several feeds
is delivered from each, under one id (its canonical link): the index keeps one document and
records every feed it came through in its `sources` (pipeline.runtime.stories).
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.deadletter import DeadLetter
from pipeline.errors import NewswireError, SourceError, backoff_delay
from pipeline.feeds.schedule import Bounds, Outcome, classify, plan
from pipeline.plugin.hosts import SHARED_IO, SHARED_POLITENESS, HostPoliteness
from pipeline.runtime import metrics
from pipeline.runtime.loop import Batch, Output, Progress, RunReport, connector_interval, failure_reason, read_batches
from pipeline.runtime.sources import Added, Retired, Source
from pipeline.settings import Settings

__all__ = ["Fleet", "SourceFeed", "Delivery"]

logger = logging.getLogger(__name__)

IDLE_WAKE = 0.5  # seconds: how often an idle fleet looks for new members, stop, and due ones


class SourceFeed(Protocol):
    """Where the fleet's members come from: added, and retired (removed, or owned by another worker now)."""

    def poll(self) -> list[Added | Retired]: ...

    def ready(self) -> bool: ...

    def close(self) -> None: ...


@dataclass
class Delivery:
    """A batch of one member's read; the last one of a read carries the schedule change."""

    source: Source
    read_id: int
    batch: Batch
    final: bool = False
    schedule: dict[str, Any] | None = None
    outcome: Outcome | None = None
    seconds: float = 0.0


def _reason(connector, error: BaseException | None) -> str | None:
    """What a failed read's schedule document keeps: a source error's own line, else its type and masked text."""
    if error is None:
        return None
    return str(error) if isinstance(error, SourceError) else failure_reason(connector, error)


@dataclass
class _Dispatch:
    """Who is due and who is running, by host."""

    heap: list = field(default_factory=list)
    ready: OrderedDict[str, deque[Source]] = field(default_factory=OrderedDict)
    crowded: set[str] = field(default_factory=set)
    running: Counter = field(default_factory=Counter)
    sequence: int = 0


class Fleet:
    """Reads its members concurrently (see the module docstring) until `stop`, or each once when `once`."""

    def __init__(self, members: SourceFeed, output: Output, settings: Settings, *, once: bool, stop: threading.Event,
                 progress: Progress | None = None, politeness: HostPoliteness | None = None,
                 clock: Callable[[], float] = time.time, store_flush: Callable[[], None] | None = None,
                 batch_size: int | None = None) -> None:
        self.members = members
        self.output = output
        self.once = once
        self.stop = stop
        self.progress = progress
        self.clock = clock
        self.store_flush = store_flush
        self.batch_size = batch_size or settings.nlp.batch_size
        self.concurrency = settings.fleet.concurrency
        self.per_host = settings.fleet.per_host
        self.bounds = Bounds.of(settings.fleet)
        self.politeness = politeness or SHARED_POLITENESS
        self.politeness.per_host = self.per_host
        self.sources: dict[str, Source] = {}
        self.retiring: list[Retired] = []
        self.report = RunReport()
        self._dispatch_state = _Dispatch()
        self._deliveries: queue.Queue[Delivery] = queue.Queue(maxsize=2 * self.concurrency)
        threads = min(settings.fleet.read_threads, self.concurrency)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="newswire-read")
        self._in_flight = 0
        self._host_lock = threading.Lock()
        self._failing: set[str] = set()
        self._output_failures = 0
        self._next_gauges = 0.0

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Read, deliver and reschedule until stopped (or, with `once`, until every member was read once)."""
        try:
            while True:
                self._take_member_changes()
                if self.stop.is_set():
                    break
                self._dispatch()
                deliveries = self._collect(self._wait())
                if deliveries:
                    self._deliver(deliveries)
                self._finish_retired()
                if time.monotonic() >= self._next_gauges:
                    self._gauges()
                if self.once and self._read_all():
                    break
        finally:
            self._shut_down()
        return self.report

    def _read_all(self) -> bool:
        if self._in_flight or not self._deliveries.empty() or not self.members.ready():
            return False
        self._take_member_changes()  # ready: every member is queued by now; take the last of them
        return self._in_flight == 0 and all(s.reads > 0 or s.retired for s in self.sources.values())

    def _wait(self) -> float:
        if not self._deliveries.empty():
            return 0.0
        heap = self._dispatch_state.heap
        if heap and not self.once:
            return min(IDLE_WAKE, max(0.01, heap[0][0] - self.clock()))
        return IDLE_WAKE if self._in_flight == 0 else 0.05

    def _shut_down(self) -> None:
        self._gauges()
        if self._in_flight:
            SHARED_IO.cancel_all()  # requests in flight end now; what they read is not committed
        self._pool.shutdown(wait=True, cancel_futures=True)
        for source in self.sources.values():
            source.connector.close()
        self.members.close()

    # -- members ----------------------------------------------------------------------------------

    def _take_member_changes(self) -> None:
        for event in self.members.poll():
            if isinstance(event, Added):
                for source in event.sources:
                    self._add(source)
            else:
                for key in event.keys:
                    if key in self.sources:
                        self.sources[key].retired = True
                self.retiring.append(event)

    def _add(self, source: Source) -> None:
        old = self.sources.get(source.key)
        if old is not None:
            if not old.retired:
                source.connector.close()  # the same member twice (a store feed also listed in the config)
                return
            old.connector.close()  # retired and back again (a partition that came back): the new one takes over
        self.sources[source.key] = source
        next_due = source.schedule.view.get("next_due")
        source.due = 0.0 if self.once or not isinstance(next_due, (int, float)) else float(next_due)
        if source.schedule.view.get("failures"):
            self._failing.add(source.key)
        self._push(source)

    def _finish_retired(self) -> None:
        for event in list(self.retiring):
            busy = [key for key in event.keys if key in self.sources and self.sources[key].running]
            if busy:
                continue
            for key in event.keys:
                source = self.sources.get(key)
                if source is not None and source.retired:
                    del self.sources[key]
                    self._failing.discard(key)
                    source.connector.close()
            self.retiring.remove(event)
            event.done.set()

    # -- dispatch ---------------------------------------------------------------------------------

    def _push(self, source: Source) -> None:
        state = self._dispatch_state
        state.sequence += 1
        heapq.heappush(state.heap, (source.due, state.sequence, source))

    def _dispatch(self) -> None:
        state, now = self._dispatch_state, self.clock()
        while state.heap and state.heap[0][0] <= now:
            due, _, source = heapq.heappop(state.heap)
            if source.running or source.retired or due != source.due or self.sources.get(source.key) is not source:
                continue
            if self.once and source.reads > 0:
                continue
            waiting = state.ready.setdefault(source.host, deque())
            waiting.append(source)
            if len(waiting) > 1:
                state.crowded.add(source.host)
        # Hosts with several members waiting first: their host_delay spacing makes them the longest to
        # serve, so they must not wait behind a thousand hosts of one feed each. Then all hosts in turn.
        for host in list(state.crowded):
            if not self._start_from(host, now):
                return
        for host in list(state.ready):
            if not self._start_from(host, now):
                return

    def _start_from(self, host: str, now: float) -> bool:
        """Start what the host's limit allows; False once the fleet is full."""
        state = self._dispatch_state
        waiting = state.ready.get(host)
        if waiting is None:
            return self._in_flight < self.concurrency
        held = 0.0 if self.once else self.politeness.held_for(host)
        if held > 0:  # the host asked to be left alone: its members wait for that, without a failure
            for source in waiting:
                source.due = now + held
                self._push(source)
            waiting.clear()
        while waiting and state.running[host] < self.per_host and self._in_flight < self.concurrency:
            self._start(waiting.popleft())
        if len(waiting) < 2:
            state.crowded.discard(host)
        if not waiting:
            del state.ready[host]
        else:
            state.ready.move_to_end(host)  # hosts take turns
        return self._in_flight < self.concurrency

    def _start(self, source: Source) -> None:
        source.running = True
        source.read_id += 1
        source.slot = source.host  # the host it counts against until it ends (a redirect may move the feed)
        self._in_flight += 1
        with self._host_lock:
            self._dispatch_state.running[source.slot] += 1
        read_id = source.read_id
        try:
            pending = source.connector.prefetch()
        except Exception:  # noqa: BLE001 - read() meets the same trouble and reports it
            logger.debug("prefetch failed name=%s", source.connector.name, exc_info=True)
            pending = None
        if pending is None:
            self._submit(source, read_id)
        else:  # a thread only once the answer is in: a slow feed waits on the I/O loop, not on a thread
            pending.when_done(lambda: self._submit(source, read_id))

    def _submit(self, source: Source, read_id: int) -> None:
        try:
            self._pool.submit(self._read, source, read_id)
        except RuntimeError:  # the fleet is shutting down: nothing of this read is committed
            pass

    # -- a read, on a pool thread ----------------------------------------------------------------

    def _read(self, source: Source, read_id: int) -> None:
        try:
            self._read_batches(source, read_id)
        finally:  # the host's slot is free once its answer is read, before the delivery is committed
            with self._host_lock:
                self._dispatch_state.running[source.slot] -= 1

    def _read_batches(self, source: Source, read_id: int) -> None:
        started = time.monotonic()
        connector = source.connector
        held: Batch | None = None
        error: BaseException | None = None
        articles = 0
        try:
            for batch in read_batches(connector, self.batch_size):
                if held is not None and not self._put(Delivery(source, read_id, held)):
                    return
                held, error = batch, batch.error
                articles += len(batch.articles)
        except Exception as e:  # noqa: BLE001 - a connector's bug costs its own read, never the fleet
            why = failure_reason(connector, e)
            logger.error("connector failed connector=%s type=%s error=%s", connector.name, connector.type, why)
            logger.debug("connector failure", exc_info=True)
            error = e
            held = held or Batch(connector)
            held.dead.append(DeadLetter.of("connector", f"connector failed: {why}",
                                           connector=connector.type, name=connector.name))
        report = connector.poll_report if error is None else None
        kind = classify(error, bool(report and report.not_modified))
        outcome = Outcome(kind, new=articles, listed=report.listed if report else None,
                          requested=report.requested_interval if report else None,
                          retry_after=getattr(error, "retry_after", None),
                          error=_reason(connector, error))
        pinned = connector_interval(connector) if (connector.pinned or not connector.adaptive) else None
        change = plan(source.schedule.view, outcome, pinned=pinned, bounds=self.bounds, now=self.clock())
        self._put(Delivery(source, read_id, held or Batch(connector), final=True, schedule=change, outcome=outcome,
                           seconds=time.monotonic() - started))

    def _put(self, delivery: Delivery) -> bool:
        while not self.stop.is_set():
            try:
                self._deliveries.put(delivery, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    # -- delivery, in the calling thread ------------------------------------------------------

    def _collect(self, wait: float) -> list[Delivery]:
        """Deliveries waiting now, merged up to nlp.batch_size articles (the first one waited for up to `wait`)."""
        try:
            first = self._deliveries.get(timeout=wait) if wait > 0 else self._deliveries.get_nowait()
        except queue.Empty:
            return []
        taken, size = [first], len(first.batch)
        while size < self.batch_size:
            try:
                nxt = self._deliveries.get_nowait()
            except queue.Empty:
                break
            if size + len(nxt.batch) > self.batch_size:
                self._deliver(taken)
                taken, size = [], 0
            taken.append(nxt)
            size += len(nxt.batch)
        return taken

    def _deliver(self, deliveries: list[Delivery]) -> None:
        live = [d for d in deliveries if d.source.abandoned != d.read_id]
        for delivery in deliveries:
            if delivery.source.abandoned == delivery.read_id and delivery.final:
                self._finished(delivery, retry=True)
        if not live:
            return
        merged = Batch.merge([d.batch for d in live])
        if len(merged):
            try:
                done = self.output(merged)
            except Exception as e:  # ServiceUnavailable, or any other output failure: not safe, read again
                if self.once:
                    raise
                self._not_delivered(live, "batch not delivered", e)
                return
            self._output_failures = 0
            self.report.add(done)
            if self.progress is not None:
                self.progress(merged.connector, done)
        for position, delivery in enumerate(live):
            try:
                delivery.batch.commit()
                if delivery.final:
                    delivery.source.schedule.commit([delivery.schedule])
            except Exception as e:  # a checkpoint the disk refuses: those not committed are read again
                if self.once:
                    raise
                self._not_delivered(live[position:], "commit failed", e)
                live = live[:position]
                break
        if self.store_flush is not None:
            self.store_flush()
        for delivery in live:
            if delivery.final:
                self._finished(delivery)

    def _not_delivered(self, deliveries: list[Delivery], what: str, error: Exception) -> None:
        """Their output or commit failed: nothing of those reads is committed, each member is due again soon."""
        self._output_failures += 1
        reason = str(error) if isinstance(error, NewswireError) else f"{type(error).__name__}: {error}"
        logger.error("%s members=%d error=%s (read again next time)", what, len({d.source.key for d in deliveries}),
                     " ".join(reason.split())[:500])
        logger.debug("%s", what, exc_info=True)
        for delivery in deliveries:
            delivery.source.abandoned = delivery.read_id
            if delivery.final:
                self._finished(delivery, retry=True)

    def _finished(self, delivery: Delivery, retry: bool = False) -> None:
        source = delivery.source
        source.running = False
        source.reads += 1
        self._in_flight -= 1
        if retry:  # the output was not safe: the same records again soon, whatever the feed's interval
            source.due = self.clock() + backoff_delay(max(1, self._output_failures), 1.0, 60.0)
        else:
            source.due = float(delivery.schedule["next_due"]) if delivery.schedule else self.clock()
            self._observe(source, delivery)
        if not source.retired and not self.once:
            self._push(source)

    def _observe(self, source: Source, delivery: Delivery) -> None:
        outcome = delivery.outcome
        if outcome is None:
            return
        metrics.FEED_READ_SECONDS.labels(outcome.kind).observe(delivery.seconds)
        if delivery.schedule and delivery.schedule.get("failures"):
            self._failing.add(source.key)
        else:
            self._failing.discard(source.key)

    def _gauges(self) -> None:
        self._next_gauges = time.monotonic() + 1.0
        state = self._dispatch_state
        metrics.FEEDS_DUE.set(sum(len(waiting) for waiting in state.ready.values()))
        metrics.FEEDS_IN_FLIGHT.set(self._in_flight)
        metrics.FEEDS_FAILING.set(len(self._failing))
        metrics.FEEDS_KNOWN.set(len(self.sources))

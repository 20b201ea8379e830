"""The distributed fleet's members: partition assignment is ownership, the state changelog moves with it.

Every `newswire worker connectors` is a member of the consumer group `<prefix>-connectors` on the
feed list (`topics.feeds`, pipeline.runtime.feedtopics), with the cooperative-sticky assignor: a
partition moves to its new owner only after the old one gave it up. For each partition it is given,
a worker reads the feed list partition whole, restores that partition's states from the changelog
up to its end, builds the members — the partition's feeds and the config's own connectors whose
host hashes to it — and only then hands them to the fleet. Changes to the feed list while it runs
(`newswire feeds add|remove|import`) arrive as records and add or retire members at once.

When a partition is taken away, its members are retired: the fleet dispatches them no more, and
the rebalance waits (at most half the session timeout) until the reads in flight were delivered
and their states acknowledged, so the new owner restores them. A worker killed outright loses its
partitions after the session timeout; the new owner starts from what was committed and reads the
rest again (at-least-once; the article ids make that harmless). No offsets are committed: a
partition is always read from its beginning, as a compacted topic is meant to be.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from kafka import TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.errors import KafkaError

from pipeline.errors import ServiceUnavailable, backoff_delay
from pipeline.feeds.store import FeedSpec
from pipeline.runtime.bus import RETRY_BASE_SECONDS, RETRY_CAP_SECONDS, group_for, make_consumer
from pipeline.runtime.feedtopics import KafkaStates, _spec, partition_for
from pipeline.runtime.sources import (
    Added, Retired, Source, SourceSpec, fleet_blocks, member_spec, open_members, open_source, static_specs,
)
from pipeline.settings import Settings

__all__ = ["Ownership", "CONNECTORS_ROLE"]

logger = logging.getLogger(__name__)

CONNECTORS_ROLE = "connectors"
READY_WITHOUT_PARTITIONS = 60.0  # seconds: a member given nothing (more workers than partitions) is done waiting


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: "Ownership") -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked):
        self.owner._release({tp.partition for tp in revoked}, wait=True)

    def on_partitions_assigned(self, assigned):
        """New partitions are loaded by the ownership thread after its poll returns."""

    def on_partitions_lost(self, lost):
        self.owner._release({tp.partition for tp in lost}, wait=False)


class Ownership:
    """The fleet's members on Kafka (see the module docstring); a SourceFeed for pipeline.runtime.fleet."""

    def __init__(self, settings: Settings, producer) -> None:
        self.settings = settings
        self.topic = settings.topics.feeds
        self.states = KafkaStates(settings, producer)
        self.fleets = fleet_blocks(settings)
        self.static = static_specs(settings)
        self._check_static()
        self._events: queue.Queue[Added | Retired] = queue.Queue()
        self._owned: dict[int, set[str]] = {}
        self._members: dict[str, str] = {}  # feed key -> member key
        self._loading: dict[int, int] = {}
        self._buffered: dict[int, dict[str, FeedSpec | None]] = {}
        self._partitions = settings.topics.partitions
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closing = False
        self._started = 0.0
        self._thread = threading.Thread(target=self._run, name="newswire-ownership", daemon=True)
        self._consumer = None
        self.failure: BaseException | None = None

    def _check_static(self) -> None:
        """Build the config's own members once, on throwaway state: a bad block fails the start, not a rebalance."""
        for spec in self.static:
            open_source(spec, self.settings, _Scratch()).connector.close()

    # -- the SourceFeed the fleet polls ----------------------------------------------------------

    def start(self) -> "Ownership":
        self._consumer = make_consumer(
            self.settings, group_for(self.settings, CONNECTORS_ROLE),
            partition_assignment_strategy=(CooperativeStickyAssignor,),
            session_timeout_ms=self.settings.fleet.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self.settings.fleet.session_timeout_ms // 4),
        )
        self._partitions = len(self._consumer.partitions_for_topic(self.topic) or ()) or self._partitions
        self._consumer.subscribe([self.topic], listener=_Listener(self))
        self._started = time.monotonic()
        self._thread.start()
        return self

    def poll(self) -> list[Added | Retired]:
        if self.failure is not None:
            raise self.failure
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def ready(self) -> bool:
        """Every partition given so far is loaded and its members are queued for the fleet."""
        with self._lock:
            if self._loading:
                return False
            return bool(self._owned) or time.monotonic() - self._started > READY_WITHOUT_PARTITIONS

    def owned(self) -> list[int]:
        with self._lock:
            return sorted(self._owned)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    # -- the ownership thread ---------------------------------------------------------------------

    def _run(self) -> None:
        consumer = self._consumer
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    self._step(consumer)
                    failures = 0
                except KafkaError as e:
                    if not e.retriable:
                        raise
                    # The broker is away (a restart): nothing applied was lost, the next poll picks up
                    # where this one stopped; the members keep polling their feeds meanwhile.
                    failures += 1
                    logger.warning("fleet ownership waits for Kafka error=%s attempt=%d (retrying)", e, failures)
                    self._stop.wait(backoff_delay(failures, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS))
        except KafkaError as e:
            logger.error("fleet ownership failed error=%s", e)
            self.failure = ServiceUnavailable(f"the connectors group lost Kafka: {e}")
        finally:
            try:
                consumer.close(autocommit=False)  # gives the partitions up (revocation without a wait)
            except KafkaError:
                pass

    def _step(self, consumer) -> None:
        polled = consumer.poll(timeout_ms=300)
        self._notice_assignment(consumer)  # before the records: those of a new partition are its list
        for tp, records in polled.items():
            for record in records:
                self._apply(tp.partition, record)
        self._finish_loading(consumer)

    def _notice_assignment(self, consumer) -> None:
        assigned = {tp.partition for tp in consumer.assignment()}
        with self._lock:
            new = assigned - set(self._owned) - set(self._loading)
        if not new:
            return
        ends = consumer.end_offsets([TopicPartition(self.topic, p) for p in new])
        with self._lock:
            for partition in new:
                self._loading[partition] = ends.get(TopicPartition(self.topic, partition), 0)
                self._buffered[partition] = {}
        logger.info("partitions assigned partitions=%s", sorted(new))

    def _finish_loading(self, consumer) -> None:
        with self._lock:
            loading = dict(self._loading)
        for partition, end in loading.items():
            tp = TopicPartition(self.topic, partition)
            if tp not in consumer.assignment():
                continue
            if consumer.position(tp) < end:
                continue
            self._load(partition)

    def _load(self, partition: int) -> None:
        """The partition's feed list is read: restore its states, build its members, hand them to the fleet."""
        started = time.monotonic()
        with self._lock:
            feeds = dict(self._buffered.get(partition, {}))  # kept until loaded: a broker away mid-load retries it
        static = [s for s in self.static if partition_for(s.partition_key, self._partitions) == partition]
        restored = self.states.restore([partition])
        sources = [self._open_static(spec, partition) for spec in static]
        sources += self._open_feeds([feed for feed in feeds.values() if feed is not None], partition)
        with self._lock:
            if partition not in self._loading:  # revoked while it was loading
                return
            self._events.put(Added(sources))  # queued before the partition counts as loaded (see ready())
            del self._loading[partition]
            self._buffered.pop(partition, None)
            self._owned[partition] = {s.key for s in sources}
        logger.info("partition loaded partition=%d members=%d states=%d seconds=%.2f",
                    partition, len(sources), restored, time.monotonic() - started)

    def _open_static(self, spec: SourceSpec, partition: int) -> Source:
        self.states.place(spec.key, partition)
        return open_source(spec, self.settings, self.states)

    def _open_feeds(self, feeds: list[FeedSpec], partition: int) -> list[Source]:
        """Members for feeds of the store (one the config lists itself too stays the config's)."""
        taken = {spec.key for spec in self.static}
        specs = []
        for feed in feeds:
            spec = member_spec(feed, self.fleets)
            if spec.key not in taken:
                self._members[feed.key] = spec.key
                self.states.place(spec.key, partition)
                specs.append(spec)
        return open_members(specs, self.settings, self.states)

    def _apply(self, partition: int, record) -> None:
        """A change of the feed list: buffered while its partition loads, else a member added or retired now."""
        key = record.key.decode("utf-8", "replace") if record.key else ""
        spec = _spec(record)
        with self._lock:
            if partition in self._buffered:
                self._buffered[partition][key] = spec
                return
            owned = self._owned.get(partition)
        if owned is None:
            return
        if spec is None:
            member = self._members.pop(key, None)
            if member is not None and member in owned:
                with self._lock:
                    owned.discard(member)
                self._events.put(Retired({member}))
                logger.info("feed removed partition=%d feed=%s", partition, key)
            return
        if self._members.get(spec.key) in owned:
            return
        sources = self._open_feeds([spec], partition)
        with self._lock:
            owned.update(s.key for s in sources)
        self._events.put(Added(sources))
        logger.debug("feed added partition=%d feed=%s", partition, spec.key)

    def _release(self, partitions: set[int], *, wait: bool) -> None:
        """Partitions taken away: retire their members; wait (bounded) until their reads in flight are saved."""
        with self._lock:
            keys: set[str] = set()
            for partition in partitions:
                keys |= self._owned.pop(partition, set())
                self._loading.pop(partition, None)
                self._buffered.pop(partition, None)
        logger.info("partitions revoked partitions=%s members=%d", sorted(partitions), len(keys))
        if not keys:
            return
        event = Retired(keys)
        self._events.put(event)
        if wait and not self._closing:
            if not event.done.wait(self.settings.fleet.session_timeout_ms / 2000):
                logger.warning("partitions revoked before their reads finished partitions=%s", sorted(partitions))


class _Scratch:
    """A throwaway checkpoint store (config checks)."""

    def load(self, key: str) -> dict:
        return {}

    def save(self, key, state) -> None:
        """Kept nowhere."""


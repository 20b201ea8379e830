"""The fleet's two compacted topics: the feed list and the state changelog, co-partitioned by host name.

    topics.feeds       key = feed key, value = FeedSpec JSON (null: the feed was removed)
    topics.feed_state  key = a member's checkpoint key (and `<key>.schedule`), value = the whole
                       state document (null: forgotten), as Kafka Connect keeps source offsets

A member's partition is murmur2 of its partition key (its host name) modulo the partition count,
the same number in both topics: every feed of one host lives on one partition, so the worker that
owns the partition is the only one talking to that host (politeness holds across workers) and the
only one that can list the same story through two feeds of that host. States are written to the
partition of their member, so the worker that owns the feed restores its state from the same
partition number.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kafka import KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from pipeline.checkpoint import CheckpointFiles
from pipeline.errors import ServiceUnavailable
from pipeline.feeds.store import FeedSpec
from pipeline.plugin.http import host_of
from pipeline.runtime.bus import make_consumer
from pipeline.settings import Settings

__all__ = ["partition_for", "read_partitions", "KafkaStates", "KafkaFeeds", "read_states", "feed_partitions"]

logger = logging.getLogger(__name__)


def partition_for(partition_key: str, partitions: int) -> int:
    """The partition of a member: Kafka's own murmur2 of its partition key (its host name)."""
    return (murmur2(partition_key.encode("utf-8", "surrogatepass")) & 0x7FFFFFFF) % partitions


def feed_partitions(settings: Settings) -> int:
    """How many partitions the feed list has (the state changelog has as many)."""
    consumer = make_consumer(settings, None)
    try:
        found = consumer.partitions_for_topic(settings.topics.feeds)
    except KafkaError as e:
        raise ServiceUnavailable(f"Kafka at {settings.kafka.bootstrap_servers} is unreachable: {e}") from None
    finally:
        consumer.close()
    return len(found) if found else settings.topics.partitions


def read_partitions(settings: Settings, topic: str, partitions: Iterable[int] | None = None) -> Iterator[Any]:
    """Every record of `topic` (or of some of its partitions) from the beginning to the end it has now."""
    consumer = make_consumer(settings, None, consumer_timeout_ms=2000)
    try:
        wanted = partitions if partitions is not None else sorted(consumer.partitions_for_topic(topic) or ())
        assigned = [TopicPartition(topic, p) for p in wanted]
        if not assigned:
            return
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    if record.offset < ends[TopicPartition(record.topic, record.partition)]:
                        yield record
    except KafkaError as e:
        raise ServiceUnavailable(f"cannot read {topic} from Kafka at {settings.kafka.bootstrap_servers}: {e}") from None
    finally:
        consumer.close()


def _decode(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def read_states(settings: Settings, partitions: Iterable[int] | None = None) -> dict[str, dict[str, Any]]:
    """The latest state document of every key in the changelog (or in some of its partitions)."""
    states: dict[str, dict[str, Any]] = {}
    for record in read_partitions(settings, settings.topics.feed_state, partitions):
        key = record.key.decode("utf-8", "replace") if record.key else ""
        document = _decode(record.value)
        if document is None:
            states.pop(key, None)
        else:
            states[key] = document
    return states


class KafkaStates:
    """The checkpoint store of the distributed fleet: restored from the changelog, saved to it asynchronously.

    `save` sends the whole document to its member's partition; `flush` waits until every save
    so far is acknowledged (the fleet calls it after committing a delivered batch).
    """

    def __init__(self, settings: Settings, producer: KafkaProducer) -> None:
        self.settings = settings
        self.producer = producer
        self.topic = settings.topics.feed_state
        self._restored: dict[str, dict[str, Any]] = {}
        self._files = CheckpointFiles(settings.data_dir)
        self._partition: dict[str, int] = {}
        self._pending: list = []

    def place(self, key: str, partition: int) -> None:
        """The partition a member's documents go to (its feed's partition)."""
        self._partition[key] = partition

    def restore(self, partitions: Iterable[int]) -> int:
        """Read these partitions' states (to their end now); returns how many documents were found."""
        found = read_states(self.settings, partitions)
        self._restored.update(found)
        return len(found)

    def load(self, key: str) -> dict[str, Any]:
        """The restored document; for a key the changelog never saw, a checkpoint file under data_dir if one
        is there (a deployment that kept its connector states on disk before the fleet moves them over)."""
        if key in self._restored:
            return self._restored.pop(key)
        return self._files.load(key)

    def save(self, key: str, state: Mapping[str, Any]) -> None:
        base = key.rsplit(".schedule", 1)[0] if key.endswith(".schedule") else key
        partition = self._partition.get(base)
        value = json.dumps(state, ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass")
        self._pending.append(self.producer.send(self.topic, key=key.encode("utf-8", "surrogatepass"), value=value,
                                                partition=partition))

    def flush(self) -> None:
        """Wait until every save so far is acknowledged; ServiceUnavailable if one is not."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            self.producer.flush(timeout=60)
            for future in pending:
                future.get(timeout=60)
        except KafkaError as e:
            raise ServiceUnavailable(f"Kafka did not acknowledge the fleet's states: {e}") from None


class KafkaFeeds:
    """The distributed feed store: the compacted feed list topic (what `newswire feeds add|remove|import` change)."""

    def __init__(self, settings: Settings, producer: KafkaProducer | None = None) -> None:
        self.settings = settings
        self.topic = settings.topics.feeds
        self._producer = producer

    def load(self) -> dict[str, FeedSpec]:
        feeds: dict[str, FeedSpec] = {}
        for record in read_partitions(self.settings, self.topic):
            spec = _spec(record)
            key = record.key.decode("utf-8", "replace") if record.key else ""
            if spec is None:
                feeds.pop(key, None)
            else:
                feeds[spec.key] = spec
        return feeds

    def _send(self, items: list[tuple[FeedSpec, bool]]) -> None:
        from pipeline.runtime.bus import make_producer

        producer = self._producer or make_producer(self.settings)
        try:
            partitions = len(producer.partitions_for(self.topic))
            futures = [
                producer.send(self.topic, key=spec.key.encode("utf-8"),
                              value=None if removed else spec.to_json().encode("utf-8"),
                              partition=partition_for(host_of(spec.url) or spec.key, partitions))
                for spec, removed in items
            ]
            producer.flush(timeout=60)
            for future in futures:
                future.get(timeout=60)
        except KafkaError as e:
            raise ServiceUnavailable(f"Kafka did not take the feed list change: {e}") from None
        finally:
            if self._producer is None:
                producer.close(timeout=10)

    def add(self, specs: Iterable[FeedSpec]) -> list[FeedSpec]:
        known = self.load()
        added = [spec for spec in {spec.key: spec for spec in specs}.values() if spec.key not in known]
        if added:
            self._send([(spec, False) for spec in added])
        return added

    def remove(self, keys: Iterable[str]) -> list[FeedSpec]:
        known = self.load()
        removed = [known[key] for key in dict.fromkeys(keys) if key in known]
        if removed:
            self._send([(spec, True) for spec in removed])
        return removed


def _spec(record) -> FeedSpec | None:
    document = _decode(record.value)
    if document is None:
        return None
    try:
        return FeedSpec.model_validate(document)
    except ValueError as e:
        logger.warning("skipped a record of the feed list offset=%d reason=%s", record.offset, e)
        return None

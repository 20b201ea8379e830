"""The three roles of the distributed pipeline, each a loop over the shared stages.

    connectors: the fleet (pipeline.runtime.fleet) over the partitions this worker owns (pipeline.runtime.ownership)
                → produce Articles (acks=all) → commit the checkpoint changes to the state changelog
    enrich:     poll news.articles → the enrich step → produce EnrichedArticles → flush → commit offsets
    sink:       poll news.enriched → the index step (retrying until it succeeds) → commit offsets

Offsets and checkpoints move only after the output is acknowledged, so a crash anywhere
re-delivers (at-least-once) and the article ids make the re-delivery overwrite (effectively once).
Records that cannot be processed go to the dead-letter topic with their origin; the partition moves on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError

from pipeline.article import parse_article, parse_enriched
from pipeline.deadletter import DeadLetter
from pipeline.enrich import Enricher
from pipeline.errors import InvalidArticle, NewswireError, ServiceUnavailable, backoff_delay
from pipeline.runtime.bus import (
    RETRY_BASE_SECONDS, RETRY_CAP_SECONDS, Outbox, ensure_topics, group_for, make_consumer, make_producer, next_offsets,
)
from pipeline.runtime.fleet import Fleet
from pipeline.runtime.indexes import open_index
from pipeline.runtime.loop import Batch, RunReport
from pipeline.runtime.ownership import Ownership
from pipeline.runtime.metrics import ProgressWatch
from pipeline.runtime.steps import make_enricher, Origin, enrich_step, index_step
from pipeline.settings import Settings

__all__ = ["ConnectorsWorker", "EnrichWorker", "SinkWorker", "role_worker"]

logger = logging.getLogger(__name__)

LAG_CHECK_SECONDS = 10.0
DEAD_PAYLOAD_BYTES = 64 * 1024


def _wait_to_retry(stop: threading.Event, failures: int) -> bool:
    """Wait out the backoff after `failures` failures in a row; True if the worker was stopped meanwhile."""
    return stop.wait(backoff_delay(failures, RETRY_BASE_SECONDS, RETRY_CAP_SECONDS))


def _origin(record) -> Origin:
    return Origin(record.value, {"topic": record.topic, "partition": record.partition, "offset": record.offset})


def _decode(record, parse, limit: int, label: str):
    """The record's article, or a DeadLetter saying why not (an oversized payload is kept only in part)."""
    value = record.value or b""
    origin = _origin(record)
    if len(value) > limit:
        reason = f"record is {len(value)} bytes, over the limit of {limit} (payload truncated to {DEAD_PAYLOAD_BYTES})"
        logger.warning("%s %s reason=%s", label, origin.where(), reason)
        return DeadLetter.of("decode", reason, value[:DEAD_PAYLOAD_BYTES], **origin.position)
    try:
        return parse(value)
    except InvalidArticle as e:
        logger.warning("%s %s reason=%s", label, origin.where(), e)
        return DeadLetter.of("decode", str(e), value, **origin.position)


class _Worker:
    """What every role has: its settings, its progress watch, and the report of what it did."""

    role = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.watch = ProgressWatch(self.role, settings.metrics.stall_after)
        self.report = RunReport()


class ConnectorsWorker(_Worker):
    """Runs its share of the fleet (the partitions of the feed list it owns), producing articles keyed by id."""

    role = "connectors"

    def run(self, stop: threading.Event, *, once: bool = False) -> RunReport:
        """The fleet's loop over the feeds this worker owns.

        It takes no data_dir lock: its members' states live in the changelog topic and the
        group decides who polls what, so several workers may share one config and one data_dir.
        """
        topics = self.settings.topics
        ensure_topics(self.settings, [topics.feeds, topics.feed_state])
        self.outbox = Outbox(make_producer(self.settings), self.settings)
        members = Ownership(self.settings, self.outbox.producer)
        self.members = members
        self.watch.start()
        try:
            members.start()
            fleet = Fleet(members, self.deliver, self.settings, once=once, stop=stop, store_flush=members.states.flush)
            self.report.add(fleet.run())
        finally:
            self.watch.stop()
            members.close()
            self.outbox.producer.close(timeout=30)
        return self.report

    def deliver(self, batch: Batch) -> RunReport:
        """Produce a batch and wait for every acknowledgement (ServiceUnavailable if one is missing)."""
        started = time.monotonic()
        self.watch.batch_started()
        futures = self.outbox.send_articles(self.settings.topics.articles, batch.articles)
        futures += self.outbox.send_deadletters(batch.dead)
        self.outbox.confirm(futures)
        self.watch.progressed(len(batch), len(batch.articles), len(batch.dead), time.monotonic() - started)
        logger.info("produced members=%d articles=%d dead=%d", max(1, len(batch.parts)), len(batch.articles), len(batch.dead))
        return RunReport(read=len(batch.articles), indexed=len(batch.articles), dead=len(batch.dead))


class _ConsumerWorker(_Worker):
    """Shared loop: poll a batch, process it, commit its offsets only after the output is safe."""

    def source_topic(self) -> str:
        raise NotImplementedError

    def process(self, records: list, stop: threading.Event) -> tuple[int, int]:
        """Deliver the output of `records`; return (delivered, dead-lettered); raise ServiceUnavailable if not safe yet."""
        raise NotImplementedError

    def open(self) -> None:
        """Connect what `process` needs."""

    def close(self) -> None:
        """Release what `open` connected."""

    def decode(self, records: list, parse, label: str) -> tuple[list, list[Origin], list[DeadLetter]]:
        """(articles, where each came from, dead letters for the records that are not articles)."""
        articles, origins, dead = [], [], []
        for record in records:
            decoded = _decode(record, parse, self.settings.limits.max_record_bytes, label)
            if isinstance(decoded, DeadLetter):
                dead.append(decoded)
            else:
                articles.append(decoded)
                origins.append(_origin(record))
        return articles, origins, dead

    def poll_batch(self, consumer: KafkaConsumer) -> list:
        polled = consumer.poll(timeout_ms=500, max_records=self.settings.nlp.batch_size)
        return sorted((r for records in polled.values() for r in records), key=lambda r: (r.partition, r.offset))

    def run(self, stop: threading.Event, *, until: Callable[[], bool] | None = None) -> RunReport:
        """Loop until `stop` is set (or `until()` says the work is done between batches)."""
        self.open()
        consumer = make_consumer(self.settings, group_for(self.settings, self.role), [self.source_topic()])
        self.consumer = consumer
        attempt = poll_failures = 0
        next_lag_check = 0.0
        self.watch.start()
        try:
            while not stop.is_set():
                try:
                    records = self.poll_batch(consumer)
                    poll_failures = 0
                except KafkaError as e:
                    if not e.retriable:
                        raise
                    poll_failures += 1  # the broker is away: nothing was taken from the partitions, poll again later
                    logger.warning("poll failed role=%s error=%s attempt=%d (retrying)", self.role, e, poll_failures)
                    _wait_to_retry(stop, poll_failures)
                    continue
                if time.monotonic() >= next_lag_check:
                    next_lag_check = time.monotonic() + LAG_CHECK_SECONDS
                    self._check_lag(consumer)
                if not records:
                    if until is not None and until():
                        break
                    continue
                started = time.monotonic()
                self.watch.batch_started()
                try:
                    delivered, failed = self.process(records, stop)
                except ServiceUnavailable as e:
                    attempt += 1
                    logger.error("batch not delivered role=%s error=%s retry_in_attempt=%d", self.role, e, attempt)
                    self._rewind(consumer, records)
                    _wait_to_retry(stop, attempt)
                    continue
                attempt = 0
                self._commit(consumer, records, stop)
                self.report.add(RunReport(read=len(records), indexed=delivered, dead=failed))
                self.watch.progressed(len(records), delivered, failed, time.monotonic() - started)
        finally:
            self.watch.stop()
            consumer.close(autocommit=False)
            self.close()
        return self.report

    def _commit(self, consumer: KafkaConsumer, records: list, stop: threading.Event) -> None:
        """Commit the batch's offsets; while the broker is away, retry with backoff (the output is already safe).

        Stopped before the commit went through, the batch is delivered again after the restart: at-least-once.
        """
        offsets = next_offsets(records)
        failures = 0
        while True:
            try:
                consumer.commit(offsets)
                return
            except CommitFailedError:
                logger.warning("commit refused after a rebalance role=%s; the new owner re-processes the batch", self.role)
                return
            except KafkaError as e:
                if not e.retriable:
                    raise
                failures += 1
                logger.warning("commit failed role=%s error=%s attempt=%d (output is safe; retrying)", self.role, e, failures)
                if _wait_to_retry(stop, failures):
                    logger.warning("stopping with an uncommitted batch role=%s; it is delivered again after the restart", self.role)
                    return

    def _rewind(self, consumer: KafkaConsumer, records: list) -> None:
        """Seek back to the batch's first offsets so the same records come again."""
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        for tp, offset in first.items():
            if tp in consumer.assignment():
                consumer.seek(tp, offset)

    def _check_lag(self, consumer: KafkaConsumer) -> None:
        assigned = list(consumer.assignment())
        if not assigned:
            return
        try:
            ends = consumer.end_offsets(assigned)
            waiting = sum(max(0, ends[tp] - consumer.position(tp)) for tp in assigned)
        except KafkaError:
            return
        self.watch.lag(waiting)


class EnrichWorker(_ConsumerWorker):
    """Group `newswire-enrich`: Articles in, the enrich step, EnrichedArticles out."""

    role = "enrich"

    def __init__(self, settings: Settings, enricher: Enricher | None = None) -> None:
        super().__init__(settings)
        self.enricher = enricher or make_enricher(settings)
        self.outbox: Outbox | None = None

    def source_topic(self) -> str:
        return self.settings.topics.articles

    def open(self) -> None:
        self.enricher.warm_up()
        self.outbox = Outbox(make_producer(self.settings), self.settings)

    def close(self) -> None:
        if self.outbox is not None:
            self.outbox.producer.close(timeout=30)

    def process(self, records: list, stop: threading.Event) -> tuple[int, int]:
        assert self.outbox is not None
        articles, origins, dead = self.decode(records, parse_article, "undecodable article")
        enriched = enrich_step(self.enricher, articles, origins)
        dead += enriched.dead
        futures = self.outbox.send_articles(self.settings.topics.enriched, enriched.articles)
        futures += self.outbox.send_deadletters(dead)
        self.outbox.confirm(futures)
        return len(enriched.articles), len(dead)


class SinkWorker(_ConsumerWorker):
    """Group `newswire-sink`: EnrichedArticles through the index step into Elasticsearch, flushed by size and by time."""

    role = "sink"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.index = None
        self.outbox: Outbox | None = None

    def source_topic(self) -> str:
        return self.settings.topics.enriched

    def open(self) -> None:
        self.index = open_index(self.settings).open()
        self.outbox = Outbox(make_producer(self.settings), self.settings)

    def close(self) -> None:
        if self.outbox is not None:
            self.outbox.producer.close(timeout=30)
        if self.index is not None:
            self.index.close()

    def poll_batch(self, consumer: KafkaConsumer) -> list:
        """Gather records until the bulk is full by count or bytes, the flush interval passed,
        or nothing more is arriving (an empty poll while records wait flushes them at once)."""
        es = self.settings.elasticsearch
        deadline = time.monotonic() + es.flush_interval
        records: list = []
        size = 0
        while len(records) < es.bulk_max_docs and size < es.bulk_max_bytes:
            wait_ms = int(max(0.0, deadline - time.monotonic()) * 1000)
            if records:
                wait_ms = min(wait_ms, 50)
            try:
                polled = consumer.poll(timeout_ms=wait_ms, max_records=es.bulk_max_docs - len(records))
            except KafkaError:
                if records:  # keep what was gathered (the consumer's position is already past it): index it
                    break
                raise
            for batch in polled.values():
                records.extend(batch)
                size += sum(len(r.value or b"") for r in batch)
            if time.monotonic() >= deadline or (records and not polled):
                break
        return sorted(records, key=lambda r: (r.partition, r.offset))

    def process(self, records: list, stop: threading.Event) -> tuple[int, int]:
        assert self.outbox is not None and self.index is not None
        articles, origins, dead = self.decode(records, parse_enriched, "undecodable enriched article")
        # Several versions of one article in a batch: bulk keeps the highest (external versions).
        indexed, refused = index_step(self.index, articles, origins, stop)
        dead += refused
        self.outbox.confirm(self.outbox.send_deadletters(dead))
        return indexed, len(dead)


def role_worker(settings: Settings, role: str):
    workers = {"connectors": ConnectorsWorker, "enrich": EnrichWorker, "sink": SinkWorker}
    if role not in workers:
        raise NewswireError(f"unknown worker role '{role}' (known: {', '.join(workers)})")
    return workers[role](settings)

"""The three roles of the distributed pipeline, each a loop over plain stage objects.

    connectors: read sources → produce Articles (acks=all) → then commit the connector checkpoint
    enrich:     poll news.articles → nlp.pipe → produce EnrichedArticles → flush → commit offsets
    sink:       poll news.enriched → bulk-index (retrying until it succeeds) → commit offsets

Offsets and checkpoints move only after the output is acknowledged, so a crash anywhere
re-delivers (at-least-once) and the article ids make the re-delivery overwrite (effectively once).
Records that cannot be processed go to the dead-letter topic with their origin; the partition moves on.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline.article import parse_article, parse_enriched
from pipeline.bus import Outbox, make_consumer, make_producer
from pipeline.deadletter import DeadLetter
from pipeline.enrich import EnrichFailure, Enricher
from pipeline.errors import InvalidArticle, NewswireError, ServiceUnavailable
from pipeline.metrics import ProgressWatch
from pipeline.runtime.embedded import RunReport
from pipeline.runtime.sources import Schedule, open_connectors, read_batches
from pipeline.settings import Settings

__all__ = ["ConnectorsWorker", "EnrichWorker", "SinkWorker", "group_for", "role_worker"]

logger = logging.getLogger(__name__)

LAG_CHECK_SECONDS = 10.0


def group_for(settings: Settings, role: str) -> str:
    """`newswire-enrich` and `newswire-sink` by default (kafka.group_prefix changes the prefix)."""
    return f"{settings.kafka.group_prefix}-{role}"


def _backoff(attempt: int, cap: float = 30.0) -> float:
    return random.uniform(0, min(cap, 0.5 * 2 ** min(attempt, 10)))


def _origin(record) -> dict:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}


DEAD_PAYLOAD_BYTES = 64 * 1024


def _decode(record, parse, limit: int, stage_reason: str):
    """The record's article, or a DeadLetter saying why not (an oversized payload is kept only in part)."""
    value = record.value or b""
    if len(value) > limit:
        reason = f"record is {len(value)} bytes, over the limit of {limit} (payload truncated to {DEAD_PAYLOAD_BYTES})"
        logger.warning("%s %s reason=%s", stage_reason, _where(record), reason)
        return DeadLetter.of("decode", reason, value[:DEAD_PAYLOAD_BYTES], **_origin(record))
    try:
        return parse(value)
    except InvalidArticle as e:
        logger.warning("%s %s reason=%s", stage_reason, _where(record), e)
        return DeadLetter.of("decode", str(e), value, **_origin(record))


class _Worker:
    """What every role has: its settings, its progress watch, and the report of what it did."""

    role = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.watch = ProgressWatch(self.role, settings.metrics.stall_after)
        self.report = RunReport()


class ConnectorsWorker(_Worker):
    """Runs the configured connectors and produces their articles keyed by id."""

    role = "connectors"

    def run(self, stop: threading.Event, *, once: bool = False) -> RunReport:
        connectors = open_connectors(self.settings)
        producer = make_producer(self.settings)
        outbox = Outbox(producer, self.settings)
        schedule = Schedule(connectors)
        total = self.report
        self.watch.start()
        try:
            while not stop.is_set():
                for connector in schedule.due():
                    total.add(self._drain(connector, outbox, stop, once))
                    schedule.done(connector)
                if once:
                    break
                schedule.wait(stop)
        finally:
            self.watch.stop()
            producer.close(timeout=30)
            for connector in connectors:
                connector.close()
        return total

    def _drain(self, connector, outbox: Outbox, stop: threading.Event, once: bool) -> RunReport:
        report = RunReport()
        for batch in read_batches(connector, self.settings.nlp.batch_size):
            started = time.monotonic()
            self.watch.batch_started()
            futures = outbox.send_articles(self.settings.topics.articles, batch.articles)
            futures += outbox.send_deadletters(batch.dead)
            try:
                outbox.confirm(futures)
            except ServiceUnavailable as e:
                connector.checkpoint.discard()
                if once:
                    raise
                logger.error("produce failed connector=%s error=%s (will read again next time)", connector.name, e)
                return report
            connector.commit()
            report.add(RunReport(read=len(batch.articles), indexed=len(batch.articles), dead=len(batch.dead)))
            self.watch.progressed(len(batch), len(batch.articles), len(batch.dead), time.monotonic() - started)
            logger.info("produced connector=%s articles=%d dead=%d", connector.name, len(batch.articles), len(batch.dead))
            if stop.is_set():
                break
        return report


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

    def decode(self, records: list, parse, label: str) -> tuple[list, list, list[DeadLetter]]:
        """(articles, the records they came from, dead letters for the records that are not articles)."""
        articles, origins, dead = [], [], []
        for record in records:
            decoded = _decode(record, parse, self.settings.limits.max_record_bytes, label)
            if isinstance(decoded, DeadLetter):
                dead.append(decoded)
            else:
                articles.append(decoded)
                origins.append(record)
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
                    stop.wait(_backoff(poll_failures))
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
                    stop.wait(_backoff(attempt))
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
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            offsets[TopicPartition(record.topic, record.partition)] = OffsetAndMetadata(record.offset + 1, "", -1)
        attempt = 0
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
                attempt += 1
                logger.warning("commit failed role=%s error=%s attempt=%d (output is safe; retrying)", self.role, e, attempt)
                if stop.wait(_backoff(attempt)):
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
    """Group `newswire-enrich`: Articles in, EnrichedArticles out."""

    role = "enrich"

    def __init__(self, settings: Settings, enricher: Enricher | None = None) -> None:
        super().__init__(settings)
        self.enricher = enricher or Enricher(settings.nlp.model, settings.nlp.pipe_batch_size)
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
        enriched = []
        for record, result in zip(origins, self.enricher.enrich(articles) if articles else []):
            if isinstance(result, EnrichFailure):
                logger.warning("enrichment failed id=%s %s reason=%s", result.article.id, _where(record), result.reason)
                dead.append(DeadLetter.of("enrich", result.reason, record.value, article_id=result.article.id, **_origin(record)))
            else:
                enriched.append(result)
        futures = self.outbox.send_articles(self.settings.topics.enriched, enriched)
        futures += self.outbox.send_deadletters(dead)
        self.outbox.confirm(futures)
        return len(enriched), len(dead)


class SinkWorker(_ConsumerWorker):
    """Group `newswire-sink`: EnrichedArticles bulk-indexed into Elasticsearch, flushed by size and by time."""

    role = "sink"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.index = None
        self.outbox: Outbox | None = None

    def source_topic(self) -> str:
        return self.settings.topics.enriched

    def open(self) -> None:
        from pipeline.index.elastic import ElasticIndex

        self.index = ElasticIndex(self.settings.elasticsearch).open()
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
        results = self.index.write(articles, stop=stop) if articles else []
        indexed = 0
        for record, result in zip(origins, results):
            if result.status == "failed":
                logger.warning("not indexable id=%s %s reason=%s", result.article_id, _where(record), result.reason)
                dead.append(DeadLetter.of("sink", result.reason or "rejected", record.value, article_id=result.article_id, **_origin(record)))
            else:
                indexed += 1
        self.outbox.confirm(self.outbox.send_deadletters(dead))
        return indexed, len(dead)


def _where(record) -> str:
    return f"topic={record.topic} partition={record.partition} offset={record.offset}"


def role_worker(settings: Settings, role: str):
    workers = {"connectors": ConnectorsWorker, "enrich": EnrichWorker, "sink": SinkWorker}
    if role not in workers:
        raise NewswireError(f"unknown worker role '{role}' (known: {', '.join(workers)})")
    return workers[role](settings)

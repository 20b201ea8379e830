"""The distributed runtime: set up topics and index, run one role or all three, handle dead letters."""

from __future__ import annotations

import logging
import threading
import time

from kafka import TopicPartition

from pipeline.article import parse_article
from pipeline.bus import Outbox, caught_up, end_offsets, ensure_topics, make_consumer, make_producer
from pipeline.deadletter import DeadLetter
from pipeline.errors import ConfigError, InvalidArticle
from pipeline.metrics import serve_metrics
from pipeline.runtime.embedded import RunReport
from pipeline.runtime.workers import ConnectorsWorker, EnrichWorker, SinkWorker, group_for, role_worker
from pipeline.settings import Settings

__all__ = ["setup_services", "run_worker", "run_all", "read_deadletters", "replay_deadletters"]

logger = logging.getLogger(__name__)


def _require_elasticsearch(settings: Settings) -> None:
    if not settings.elasticsearch.hosts:
        raise ConfigError("the distributed pipeline indexes into Elasticsearch: set elasticsearch.hosts (or NEWSWIRE_ELASTICSEARCH__HOSTS)")


def setup_services(settings: Settings) -> list[str]:
    """Create the topics and install the index template and alias; safe to run again."""
    done = []
    if settings.distributed:
        done += ensure_topics(settings)
    if settings.elasticsearch.hosts:
        from pipeline.index.elastic import ElasticIndex

        with ElasticIndex(settings.elasticsearch) as index:
            done += index.setup()
    return done


def run_worker(settings: Settings, role: str, stop: threading.Event) -> RunReport:
    """One role, as `newswire worker ROLE` and docker compose run it."""
    if role == "sink":
        _require_elasticsearch(settings)
    serve_metrics(settings.metrics.port)
    worker = role_worker(settings, role)
    logger.info("worker starting role=%s", role)
    report = worker.run(stop)
    logger.info("worker stopped role=%s read=%d out=%d dead=%d", role, report.read, report.indexed, report.dead)
    return report


def _drained(settings: Settings, group: str, topic: str, stop: threading.Event):
    """A predicate: has `group` committed everything `topic` holds right now (or was the run stopped)?"""
    probe = make_consumer(settings, group)
    targets = end_offsets(probe, topic)

    def done() -> bool:
        return stop.is_set() or caught_up(probe, topic, targets)

    return probe, done


def run_all(settings: Settings, *, once: bool, stop: threading.Event) -> RunReport:
    """All three roles in one process; `once` drains what exists, waits until searchable, and exits."""
    _require_elasticsearch(settings)
    setup_services(settings)
    serve_metrics(settings.metrics.port)
    if once:
        return _run_once(settings, stop)
    workers = [ConnectorsWorker(settings), EnrichWorker(settings), SinkWorker(settings)]
    failures: list[BaseException] = []

    def work(worker) -> None:
        try:
            worker.run(stop)
        except BaseException as e:  # handed to the main thread, which raises it
            failures.append(e)
            stop.set()

    threads = [threading.Thread(target=work, args=(w,), name=f"newswire-{w.role}", daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        for thread in threads:
            thread.join(timeout=1.0)
    if failures:
        raise failures[0]
    connectors, enrich, sink = workers
    return RunReport(
        read=connectors.report.read,
        indexed=sink.report.indexed,
        dead=connectors.report.dead + enrich.report.dead + sink.report.dead,
    )


def _drain(worker, stop: threading.Event) -> None:
    """Run a consumer worker until its group has committed everything its topic holds now."""
    probe, done = _drained(worker.settings, group_for(worker.settings, worker.role), worker.source_topic(), stop)
    try:
        worker.run(stop, until=done)
    finally:
        probe.close()


def _run_once(settings: Settings, stop: threading.Event) -> RunReport:
    produced = ConnectorsWorker(settings).run(stop, once=True)
    enrich = EnrichWorker(settings)
    _drain(enrich, stop)
    sink = SinkWorker(settings)
    _drain(sink, stop)
    from pipeline.index.elastic import ElasticIndex

    with ElasticIndex(settings.elasticsearch) as index:
        index.refresh()
    return RunReport(read=produced.read, indexed=sink.report.indexed, dead=produced.dead + enrich.report.dead + sink.report.dead)


def _read_topic(settings: Settings, topic: str, group: str | None, limit: int | None = None):
    """Records of `topic` from the group's position (or the beginning) to its current end."""
    consumer = make_consumer(settings, group, consumer_timeout_ms=2000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return consumer, []
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        if group is None:
            consumer.seek_to_beginning(*partitions)
        records = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            polled = consumer.poll(timeout_ms=1000)
            if not polled:
                continue
            for batch in polled.values():
                records.extend(batch)
            if limit and len(records) >= limit:
                break
        return consumer, sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))[:limit]
    except Exception:
        consumer.close()
        raise


def read_deadletters(settings: Settings, limit: int | None = None) -> list[DeadLetter]:
    """Every dead letter in the topic, oldest first."""
    consumer, records = _read_topic(settings, settings.topics.deadletter, None, limit)
    consumer.close()
    letters = []
    for record in records:
        try:
            letters.append(DeadLetter.model_validate_json(record.value))
        except ValueError:
            letters.append(DeadLetter.of("decode", "unreadable dead letter", record.value, topic=record.topic, partition=record.partition, offset=record.offset))
    return letters


def replay_deadletters(settings: Settings) -> tuple[int, int]:
    """Send each dead letter not replayed before back to the topic it came from; returns (replayed, skipped)."""
    consumer, records = _read_topic(settings, settings.topics.deadletter, group_for(settings, "deadletter-replay"))
    producer = make_producer(settings)
    outbox = Outbox(producer, settings)
    futures, replayed, skipped = [], 0, 0
    try:
        for record in records:
            try:
                letter = DeadLetter.model_validate_json(record.value)
                payload = letter.payload_bytes()
                article = parse_article(payload)
            except (ValueError, InvalidArticle):
                skipped += 1
                continue
            target = settings.topics.enriched if letter.stage == "sink" else settings.topics.articles
            futures.append(producer.send(target, key=article.id.encode("utf-8"), value=payload))
            replayed += 1
        outbox.confirm(futures)
        if records:
            from kafka.structs import OffsetAndMetadata

            last: dict = {}
            for record in records:
                tp = TopicPartition(record.topic, record.partition)
                last[tp] = max(last.get(tp, -1), record.offset)
            consumer.commit({tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in last.items()})
    finally:
        producer.close(timeout=30)
        consumer.close(autocommit=False)
    return replayed, skipped

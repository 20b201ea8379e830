"""The distributed runtime: set up topics and index, run one role or all three in one process."""

from __future__ import annotations

import logging
import threading

from pipeline.errors import ConfigError
from pipeline.runtime.bus import caught_up, end_offsets, ensure_topics, group_for, make_consumer
from pipeline.runtime.indexes import open_index
from pipeline.runtime.loop import RunReport
from pipeline.runtime.metrics import serve_metrics
from pipeline.runtime.workers import ConnectorsWorker, EnrichWorker, SinkWorker, role_worker
from pipeline.settings import Settings

__all__ = ["setup_services", "run_worker", "run_all"]

logger = logging.getLogger(__name__)


def _require_elasticsearch(settings: Settings) -> None:
    if not settings.elasticsearch.hosts:
        raise ConfigError("the distributed pipeline indexes into Elasticsearch: set elasticsearch.hosts (or NEWSWIRE_ELASTICSEARCH__HOSTS)")


def setup_services(settings: Settings) -> list[str]:
    """Create the topics (when Kafka is configured) and set up the configured index; safe to run again."""
    done = []
    if settings.distributed:
        done += ensure_topics(settings)
    with open_index(settings) as index:
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
    with open_index(settings) as index:
        index.refresh()
    return RunReport(read=produced.read, indexed=sink.report.indexed, dead=produced.dead + enrich.report.dead + sink.report.dead)

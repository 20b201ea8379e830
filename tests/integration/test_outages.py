"""Outages of the real broker and the real node in the middle of a stream: nothing lost, nothing doubled.

The workers run as `newswire worker ROLE -c CONFIG` processes, as docker compose runs them, and are
never restarted: they must ride the outage out. The broker or node that goes down is an instance of
the test's own (`service_instance`), never the pair other test sessions share. Each test counts
exactly: the ids behind the alias are the ids produced, and the dead-letter topic is empty.

    broker restart:          kill -9 / SIGTERM of Kafka mid-stream, back on the same port and log dir
    Elasticsearch restart:   kill -9 / SIGTERM of the node mid-stream, back on the same port and data
    429 storm:               two sinks against a node with one write thread, a queue of one and
                             indexing pressure for one bulk: requests refused whole and per item
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from pipeline.article import EnrichedArticle, Entity
from pipeline.runtime.bus import committed_offsets, group_for, make_consumer
from pipeline.runtime.deadletters import read_deadletters
from pipeline.runtime.distributed import setup_services
from tests.conftest import REPO
from tests.integration.support import (
    HOLD_WRITES,
    PEOPLE,
    indexed_ids,
    running_tasks,
    settings_of,
    sink_caught_up,
    start_worker,
    stop_worker,
    wait_for,
    write_pipeline_config,
    write_wire_stories,
)

pytestmark = pytest.mark.integration

ROLES = ("connectors", "enrich", "sink")


class Workers:
    """The three roles as processes, each with its log; `check()` fails if any has exited."""

    def __init__(self, config: Path, logs: Path, roles=ROLES) -> None:
        self.config, self.logs = config, logs
        self.processes: dict[str, subprocess.Popen] = {}
        for role in roles:
            self.add(role)

    def add(self, role: str) -> str:
        """Start one more worker of `role`; returns its name (`sink`, then `sink-1`, ...)."""
        name = role if role not in self.processes else f"{role}-{len(self.processes)}"
        self.processes[name] = start_worker(self.config, role, self.logs / f"{name}.log")
        return name

    def check(self) -> None:
        exited = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        assert not exited, f"workers exited (they must ride the outage out): {exited}\n{self.tails()}"

    def tails(self, lines: int = 15) -> str:
        return "\n".join(
            f"--- {path.name} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            for path in sorted(self.logs.glob("*.log"))
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> dict[str, int]:
        return {name: stop_worker(process, signal.SIGTERM, timeout=90) for name, process in self.processes.items()}

    def kill(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(30)


def _pipeline(tmp_path: Path, name: str, bootstrap: str, es_url: str, **extra) -> tuple[Path, Path]:
    articles = tmp_path / "articles"
    articles.mkdir()
    extra.setdefault("connectors", [{"type": "files", "name": "news", "path": str(articles), "interval": 1.0}])
    config = write_pipeline_config(tmp_path, name, bootstrap, es_url, articles, **extra)
    (tmp_path / "logs").mkdir()
    return config, articles


def _feed(articles: Path, numbers: range, *, waves: int, pause: float) -> list[str]:
    """Write the articles numbered `numbers` in `waves` waves, `pause` seconds apart (a live stream)."""
    ids: list[str] = []
    step = max(1, len(numbers) // waves)
    for start in range(numbers.start, numbers.stop, step):
        ids += write_wire_stories(articles, range(start, min(start + step, numbers.stop)))
        time.sleep(pause)
    return ids


def _assert_exactly_once(settings, expected: list[str], workers: Workers) -> None:
    found = indexed_ids(settings)
    assert len(found) == len(set(found)) == len(expected), (len(found), len(set(found)), len(expected))
    assert found == sorted(expected)
    assert read_deadletters(settings) == [], "nothing dead-lettered because of the outage"
    stopped = workers.stop()
    assert stopped == {name: 0 for name in workers.processes}, workers.tails()
    for name in workers.processes:
        assert "Traceback" not in workers.log(name), workers.log(name)


def _sink_committed(settings) -> int:
    consumer = make_consumer(settings, group_for(settings, "sink"))
    try:
        return sum(committed_offsets(consumer, settings.topics.enriched).values())
    finally:
        consumer.close()


def _offsets_never_ahead(settings, workers: Workers, samples: list[tuple[int, int]]) -> int:
    """Indexed articles, after checking that the sinks never committed an offset before its article was
    indexed: read the committed offsets first, then count the index (one record per article here)."""
    workers.check()
    committed = _sink_committed(settings)
    indexed = len(indexed_ids(settings))
    assert committed <= indexed, f"offsets committed ahead of the index: {committed} committed, {indexed} indexed"
    samples.append((committed, indexed))
    return indexed


def _stream_through_an_outage(settings, config: Path, articles: Path, logs: Path, instance, service: str, hard: bool) -> None:
    """320 short articles through the three workers while `service` of `instance` goes down (SIGKILL or SIGTERM)
    for about 20 s and comes back on the same port and data; then count them all, exactly once."""
    setup_services(settings)
    workers = Workers(config, logs)
    try:
        expected = _feed(articles, range(0, 120), waves=4, pause=0.5)
        wait_for(lambda: workers.check() or len(indexed_ids(settings)) >= 40, 300, "the first articles indexed")
        expected += _feed(articles, range(120, 180), waves=3, pause=0.5)
        down = time.monotonic()
        instance.stop(service, hard=hard)  # mid-stream: connectors producing, enrich and sink mid-batch
        expected += _feed(articles, range(180, 260), waves=4, pause=5.0)  # the stream goes on meanwhile
        workers.check()
        instance.resume(service)  # same port, same data: topics, offsets, groups and the index are there again
        up = time.monotonic()
        expected += _feed(articles, range(260, 320), waves=3, pause=0.5)
        samples: list[tuple[int, int]] = []
        wait_for(lambda: _offsets_never_ahead(settings, workers, samples) >= len(expected), 600, "every article indexed")
        # For docs/stack.md (what an outage costs), never asserted: seconds away, seconds to catch up once back.
        print(f"{service} {'kill -9' if hard else 'SIGTERM'}: down {up - down:.0f} s, all indexed {time.monotonic() - up:.0f} s after it was back")
        wait_for(lambda: sink_caught_up(settings), 120, "the sink's offsets committed to the end")
        workers.check()
        if service == "elasticsearch":
            # it meets the outage in the bulk, or in the read of what is indexed that comes before it
            retries = ("elasticsearch bulk retry", "elasticsearch read before write retry", "batch not delivered role=sink")
            assert any(line in workers.log("sink") for line in retries), "the sink met the outage and retried"
        _assert_exactly_once(settings, expected, workers)
    finally:
        workers.kill()


@pytest.mark.parametrize("hard", [True, False], ids=["kill-9", "sigterm"])
def test_a_broker_restart_mid_stream_loses_and_doubles_nothing(tmp_path, service_instance, es_hosts, unique_name, hard):
    broker = service_instance("kafka")
    # Client requests time out after 10 s, so the outage (about 20 s) outlasts several of them.
    config, articles = _pipeline(tmp_path, unique_name, broker.kafka_bootstrap, es_hosts, kafka={"request_timeout_ms": 10_000})
    _stream_through_an_outage(settings_of(config), config, articles, tmp_path / "logs", broker, "kafka", hard)


@pytest.mark.parametrize("hard", [True, False], ids=["kill-9", "sigterm"])
def test_an_elasticsearch_restart_mid_stream_loses_and_doubles_nothing(tmp_path, service_instance, kafka_bootstrap, unique_name, hard):
    node = service_instance("elasticsearch")
    config, articles = _pipeline(tmp_path, unique_name, kafka_bootstrap, node.es_hosts, elasticsearch={"request_timeout": 10})
    _stream_through_an_outage(settings_of(config), config, articles, tmp_path / "logs", node, "elasticsearch", hard)


STORM = {
    # One write thread with a queue of one: a bulk request spread over three shards has more shard
    # writes than that, so single actions are refused with 429 (es_rejected_execution_exception).
    "thread_pool.write.size": 1,
    "thread_pool.write.queue_size": 1,
    # Indexing pressure for about one bulk request (the sinks send at most 16 KiB): a second request
    # arriving while one is in flight is refused as a whole with 429.
    "indexing_pressure.memory.limit": "24kb",
}


def _three_shard_template(tmp_path: Path) -> Path:
    """The product's index template with three primary shards, so that one bulk request makes three shard writes."""
    template = json.loads((REPO / "config" / "elasticsearch" / "news-articles.template.json").read_text())
    settings = template["template"]["settings"]
    settings.setdefault("index", settings)["number_of_shards"] = 3
    path = tmp_path / "news-articles.template.json"
    path.write_text(json.dumps(template))
    return path


@contextlib.contextmanager
def _ballast_in_flight(es_url: str, index: str):
    """Someone else's bulk write of 16 KiB to `index`, held in flight on the node's only write thread (hold-writes
    module) while the block runs: bulk requests that arrive meanwhile are refused as a whole with 429."""
    with Elasticsearch(es_url, request_timeout=120) as client:
        client.indices.create(index=index, settings={"number_of_replicas": 0, HOLD_WRITES: True})
        released = threading.Event()

        def write_ballast() -> None:  # the storm may refuse it too: send it again until it is held
            while not released.is_set():
                answer = client.options(ignore_status=429).bulk(
                    operations=[{"index": {"_index": index, "_id": "ballast"}}, {"body": "x" * 16 * 1024}])
                if answer.meta.status == 200 and not answer.body.get("errors"):
                    return
                released.wait(0.05)

        ballast = threading.Thread(target=write_ballast)
        ballast.start()
        try:
            wait_for(lambda: any(f"index[{index}]" in d for d in running_tasks(client, "indices:data/write/bulk[s][p]")),
                     120, "the ballast write to be held on its shard", interval=0.1)
            yield
        finally:
            released.set()
            client.indices.put_settings(index=index, settings={HOLD_WRITES: False})
            ballast.join(120)


def _produce_enriched(settings, count: int) -> list[str]:
    """`count` EnrichedArticles straight onto the enriched topic (no connectors, no spaCy: it is the sink under test)."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, acks="all", linger_ms=20)
    ids = []
    try:
        for n in range(count):
            speaker = PEOPLE[n % len(PEOPLE)]
            article = EnrichedArticle(
                id=f"wire/{n:05d}", title=f"Storm report {n}", body=f"{speaker} said the levee held on day {n}.",
                language="en", people=[speaker], speakers=[speaker],
                entities=[Entity(name=speaker, label="PERSON", mentions=1)],
            )
            producer.send(settings.topics.enriched, key=article.id.encode(), value=article.to_json().encode())
            ids.append(article.id)
        producer.flush(timeout=120)
    finally:
        producer.close()
    return ids


def _refusals(log: str, scope: str) -> int:
    """How many actions the sink's retry lines report refused with 429 in `scope` (request or item)."""
    return sum(int(n) for n in re.findall(rf"refused=\S*?{scope}:429x(\d+)", log))


def test_two_sinks_in_a_429_storm_back_off_keep_their_offsets_and_index_everything_once(
    tmp_path, service_instance, kafka_bootstrap, unique_name
):
    node = service_instance("elasticsearch", es_settings=STORM)
    config, _ = _pipeline(
        tmp_path, unique_name, kafka_bootstrap, node.es_hosts, topics={"partitions": 4}, connectors=[],
        elasticsearch={"bulk_max_docs": 100, "bulk_max_bytes": 16 * 1024, "flush_interval": 0.2,
                       "template": str(_three_shard_template(tmp_path))},
    )
    settings = settings_of(config)
    setup_services(settings)
    expected = _produce_enriched(settings, 4000)
    workers = Workers(config, tmp_path / "logs", roles=("sink", "sink"))
    samples: list[tuple[int, int]] = []
    try:
        wait_for(lambda: workers.check() or all("elasticsearch bulk" in workers.log(n) for n in ("sink", "sink-1")),
                 300, "both sinks to hold partitions and write")
        with _ballast_in_flight(node.es_hosts, f"{unique_name}-ballast"):
            wait_for(lambda: workers.check() or all(_refusals(workers.log(n), "request") for n in ("sink", "sink-1")),
                     300, "both sinks to have a whole bulk request refused with 429")
        wait_for(lambda: _offsets_never_ahead(settings, workers, samples) >= len(expected), 900, "every article indexed")
        assert any(0 < committed < len(expected) for committed, _ in samples), f"sampled mid-storm too: {samples}"
        wait_for(lambda: sink_caught_up(settings), 120, "the sinks' offsets committed to the end")
        workers.check()
        logs = workers.log("sink") + workers.log("sink-1")
        request_refusals, item_refusals = _refusals(logs, "request"), _refusals(logs, "item")
        assert request_refusals > 0 and item_refusals > 0, (request_refusals, item_refusals)
        print(f"429 storm: {request_refusals} actions refused with their whole request, {item_refusals} one by one")
        _assert_exactly_once(settings, expected, workers)
        logs = workers.log("sink") + workers.log("sink-1")
        reads = [int(m) for m in re.findall(r"worker stopped role=sink read=(\d+)", logs)]
        assert len(reads) == 2 and all(reads), f"both sinks took part: {reads}"
    finally:
        workers.kill()

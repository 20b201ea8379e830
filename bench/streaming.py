"""The contenders on Kafka and Elasticsearch: newswire's workers (one or two enrich workers) and the Quix peer.

Each run has its own topics, consumer groups and index. The consumers are started first and
are ready (model loaded, group stable, partitions assigned) before anything is produced; then
`newswire worker connectors` reads the corpus folder and produces it. The clock runs from the
first record's produce timestamp (CreateTime) to the moment a `_count` on the index (no forced
refresh: searchable as a user would see it) reaches the number of articles.

The latency run paces a producer at a fixed rate into a ready one-worker pipeline and polls the
index for each article's id: latency = first seen searchable - produce timestamp.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from bench.procs import PYTHON, REPO, MemoryWatch, Watched, clean_env, start, stop

__all__ = ["Pipeline", "run_newswire", "run_peer", "run_latency", "cleanup"]

PEER_PYTHON = REPO / "bench" / ".venv-peer" / "bin" / "python"
READY_TIMEOUT = 300.0


@dataclass
class Pipeline:
    """One run's names and config file."""

    name: str
    kafka: str
    es: str
    corpus: Path
    home: Path
    partitions: int = 6
    batch_size: int = 64
    elasticsearch: dict = field(default_factory=dict)  # extra elasticsearch settings (experiments only)

    @property
    def topic(self) -> str:
        return f"{self.name}.articles"

    @property
    def index(self) -> str:
        return f"{self.name}-articles"

    def group(self, role: str) -> str:
        return f"{self.name}-{role}"

    def write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        config = {
            "data_dir": str(self.home / "data"),
            "kafka": {"bootstrap_servers": self.kafka, "group_prefix": self.name},
            "topics": {"articles": self.topic, "enriched": f"{self.name}.enriched",
                       "deadletter": f"{self.name}.deadletter", "partitions": self.partitions},
            "elasticsearch": {"hosts": [self.es], "index": self.index, **self.elasticsearch},
            "nlp": {"batch_size": self.batch_size},
            "connectors": [{"type": "files", "name": "bench", "path": str(self.corpus)}],
        }
        path = self.home / "newswire.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    def cli(self, *args: str) -> list[str]:
        return [str(PYTHON), "-m", "pipeline.cli", *args, "-c", str(self.home / "newswire.yaml")]


def _setup(pipeline: Pipeline) -> None:
    import subprocess

    pipeline.write_config()
    done = subprocess.run(pipeline.cli("setup"), cwd=REPO, env=clean_env(), capture_output=True, text=True,
                          timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"newswire setup failed: {done.stderr.strip()[-500:]}")


def wait_group(kafka: str, group: str, members: int, watched: list[Watched], timeout: float = READY_TIMEOUT) -> None:
    """Until `group` is Stable with `members` members that all hold partitions."""
    admin = KafkaAdminClient(bootstrap_servers=kafka)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for item in watched:
                if item.process.poll() is not None:
                    raise RuntimeError(f"{item.role} exited with {item.process.returncode}; see {item.log}")
            try:
                info = admin.describe_groups([group]).get(group) or {}
            except KafkaError as e:  # a fresh broker has no group coordinator yet
                if not getattr(e, "retriable", False):
                    raise
                info = {}
            joined = info.get("members") or []
            if info.get("group_state") == "Stable" and len(joined) == members and all(
                m["member_assignment"]["assigned_partitions"] for m in joined
            ):
                return
            time.sleep(0.5)
    finally:
        admin.close()
    raise RuntimeError(f"consumer group {group} not ready with {members} members within {timeout:.0f}s")


def first_produce_time(kafka: str, topic: str) -> float:
    """The smallest produce timestamp (CreateTime, seconds) among the first records of every partition."""
    consumer = KafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        wanted = {tp for tp in partitions if ends[tp] > 0}
        first: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + 60
        while wanted - set(first) and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=1000, max_records=500).items():
                if records and tp not in first:
                    first[tp] = records[0].timestamp
                    consumer.pause(tp)
        return min(first.values()) / 1000.0
    finally:
        consumer.close()


def wait_searchable(es: Elasticsearch, index: str, count: int, timeout: float, watched: list[Watched]) -> float:
    """Wall time at which `_count` on `index` first reached `count`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = es.count(index=index)["count"]
        except Exception:  # index or alias not there yet
            found = 0
        if found >= count:
            return time.time()
        for item in watched:
            if item.process.poll() is not None and item.role != "connectors":
                raise RuntimeError(f"{item.role} exited with {item.process.returncode}; see {item.log}")
        time.sleep(0.1)
    raise RuntimeError(f"only {found} of {count} documents searchable in {index} after {timeout:.0f}s")


def _cpu_seconds(items: list[Watched]) -> dict[int, float]:
    seconds = {}
    for item in items:
        try:
            times = psutil.Process(item.process.pid).cpu_times()
            seconds[item.process.pid] = times.user + times.system
        except psutil.Error:
            pass
    return seconds


@dataclass
class StreamResult:
    name: str
    articles: int
    seconds: float
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "articles": self.articles, "seconds": self.seconds,
                "articles_per_s": self.articles / self.seconds, "peak_rss_mb": self.peak_rss_mb,
                "cpu_seconds": self.cpu_seconds, **self.extra}


def _measure(pipeline: Pipeline, watch: MemoryWatch, consumers: list[Watched], count: int, timeout: float,
             name: str) -> StreamResult:
    """Produce the corpus with the connectors worker and time it to searchable."""
    es = Elasticsearch(pipeline.es, request_timeout=30)
    try:
        cpu_before = _cpu_seconds(consumers)
        connectors = start(watch, "connectors", pipeline.cli("worker", "connectors"), pipeline.home / "connectors.log")
        done_at = wait_searchable(es, pipeline.index, count, timeout, consumers + [connectors])
        cpu_after = _cpu_seconds(consumers)
        watch.sample()
        stop(connectors)
    finally:
        es.close()
    started_at = first_produce_time(pipeline.kafka, pipeline.topic)
    cpu: dict[str, float] = {}
    for item in consumers:
        used = cpu_after.get(item.process.pid, 0.0) - cpu_before.get(item.process.pid, 0.0)
        cpu[item.role] = round(cpu.get(item.role, 0.0) + used, 2)
    return StreamResult(name, count, done_at - started_at, cpu_seconds=cpu)


def start_newswire(pipeline: Pipeline, watch: MemoryWatch, enrich_workers: int) -> list[Watched]:
    _setup(pipeline)
    consumers = [start(watch, "sink", pipeline.cli("worker", "sink"), pipeline.home / "sink.log")]
    for n in range(enrich_workers):
        consumers.append(start(watch, "enrich", pipeline.cli("worker", "enrich"), pipeline.home / f"enrich{n}.log"))
    wait_group(pipeline.kafka, pipeline.group("enrich"), enrich_workers, consumers)
    wait_group(pipeline.kafka, pipeline.group("sink"), 1, consumers)
    return consumers


def run_newswire(pipeline: Pipeline, count: int, enrich_workers: int, timeout: float,
                 keep_running: bool = False) -> tuple[dict, list[Watched], MemoryWatch]:
    """Throughput of newswire on Kafka + ES with `enrich_workers` enrich processes and one sink."""
    watch = MemoryWatch()
    consumers = start_newswire(pipeline, watch, enrich_workers)
    try:
        result = _measure(pipeline, watch, consumers, count, timeout, f"kafka_{enrich_workers}w")
    except BaseException:
        for item in consumers:
            stop(item)
        watch.close()
        raise
    if not keep_running:
        for item in consumers:
            stop(item)
        watch.close()
    result.peak_rss_mb = watch.peaks_mb()
    return result.as_dict(), consumers, watch


def run_peer(pipeline: Pipeline, count: int, timeout: float, commit_interval: float = 1.0) -> dict:
    """Throughput of the Quix Streams application, fed by the same connectors worker."""
    _setup(pipeline)  # the input topic with the same partitions as newswire's
    watch = MemoryWatch()
    env = clean_env(PYTHONPATH=str(REPO))
    command = [str(PEER_PYTHON), str(REPO / "bench" / "peer_app.py"), "--broker", pipeline.kafka,
               "--topic", pipeline.topic, "--group", pipeline.group("quix"), "--es", pipeline.es,
               "--index", pipeline.index, "--commit-interval", str(commit_interval),
               "--state-dir", str(pipeline.home / "quix-state")]
    peer = start(watch, "quix", command, pipeline.home / "quix.log", env=env)
    try:
        wait_group(pipeline.kafka, pipeline.group("quix"), 1, [peer])
        result = _measure(pipeline, watch, [peer], count, timeout, "peer_quix")
    finally:
        stop(peer)
        watch.close()
    result.peak_rss_mb = watch.peaks_mb()
    result.extra["commit_interval_s"] = commit_interval
    return result.as_dict()


def run_latency(pipeline: Pipeline, articles: list[dict], rate: float, max_seconds: float) -> dict:
    """Produce `articles` (new ids) at `rate` per second into a ready pipeline; per-article latency to searchable."""
    from pipeline.runtime.bus import make_producer
    from pipeline.settings import load_settings

    settings = load_settings(pipeline.home / "newswire.yaml")
    producer = make_producer(settings)
    produced: dict[str, float] = {}
    lock = threading.Lock()
    finished = threading.Event()

    def produce() -> None:
        began = time.monotonic()
        for n, article in enumerate(articles):
            due = began + n / rate
            if due - began > max_seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            record = dict(article, id=f"latency/{n:05d}/{article['id']}")
            future = producer.send(pipeline.topic, key=record["id"].encode(), value=json.dumps(record).encode())
            meta = future.get(timeout=30)
            with lock:
                produced[record["id"]] = meta.timestamp / 1000.0
        producer.flush()
        finished.set()

    thread = threading.Thread(target=produce, name="bench-paced-producer", daemon=True)
    es = Elasticsearch(pipeline.es, request_timeout=30)
    seen: dict[str, float] = {}
    thread.start()
    deadline = time.monotonic() + max_seconds + 120
    try:
        while time.monotonic() < deadline:
            with lock:
                pending = [i for i in produced if i not in seen]
                done = finished.is_set() and not pending
            if done:
                break
            if pending:
                hits = es.search(index=pipeline.index, query={"ids": {"values": pending[:1000]}}, source=False,
                                 size=1000)["hits"]["hits"]
                now = time.time()
                for hit in hits:
                    seen.setdefault(hit["_id"], now)
            time.sleep(0.05)
    finally:
        es.close()
        producer.close(timeout=10)
    latencies = sorted(seen[i] - produced[i] for i in seen)
    enriched = _produce_times(pipeline.kafka, f"{pipeline.name}.enriched", set(seen))
    to_enriched = sorted(enriched[i] - produced[i] for i in enriched)
    to_searchable = sorted(seen[i] - enriched[i] for i in enriched)
    return {"rate_per_s": rate, "produced": len(produced), "searchable": len(seen),
            "p50_s": _percentile(latencies, 50), "p95_s": _percentile(latencies, 95),
            "max_s": latencies[-1] if latencies else None,
            "stages": {
                "emit_to_enriched_produced": {"p50_s": _percentile(to_enriched, 50), "p95_s": _percentile(to_enriched, 95)},
                "enriched_to_searchable": {"p50_s": _percentile(to_searchable, 50),
                                           "p95_s": _percentile(to_searchable, 95)},
            }}


def _produce_times(kafka: str, topic: str, keys: set[str]) -> dict[str, float]:
    """Produce timestamps (seconds) of the records of `topic` whose key is in `keys`."""
    consumer = KafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, group_id=None)
    found: dict[str, float] = {}
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    key = (record.key or b"").decode("utf-8", "replace")
                    if key in keys:
                        found.setdefault(key, record.timestamp / 1000.0)
    finally:
        consumer.close()
    return found


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    rank = max(0, min(len(values) - 1, round(pct / 100 * len(values) + 0.5) - 1))
    return values[rank]


def cleanup(pipeline: Pipeline) -> None:
    """Delete the run's topics and index (best effort)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=pipeline.kafka)
        try:
            names = [t for t in admin.list_topics() if t.startswith(pipeline.name + ".")]
            if names:
                admin.delete_topics(names)
        finally:
            admin.close()
    except Exception:
        pass
    try:
        es = Elasticsearch(pipeline.es, request_timeout=30)
        try:
            for index in es.indices.get(index=f"{pipeline.index}*"):
                es.options(ignore_status=404).indices.delete(index=index)
        finally:
            es.close()
    except Exception:
        pass

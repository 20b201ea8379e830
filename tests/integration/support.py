"""Helpers for the pipeline's integration tests: a per-test config, a corpus, workers as real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch, helpers
from elasticsearch.exceptions import GeneralAvailabilityWarning

from pipeline.settings import ElasticsearchSettings, Settings, load_settings
from tests.conftest import REPO, SEEDS

ARTICLES = REPO / "tests" / "data" / "articles"
HOLD_WRITES = "index.newswire_test.hold_writes"  # the test node's hold-writes module (docs/test-services.md)


def corpus(folder: Path, copies: int = 1) -> Path:
    """The seed article and a dozen of our own, copied to `folder` (`copies` times, as distinct files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in [*SEEDS.glob("*.txt"), *ARTICLES.glob("*.txt")]:
        shutil.copy(source, folder / source.name)
        for copy in range(1, copies):
            shutil.copy(source, folder / f"copy{copy:02d}-{source.name}")
    return folder


PEOPLE = ["Anna Keller", "Jonas Brandt", "Maria Lopez", "Tomas Novak", "Leila Haddad", "Kenji Sato"]
PLACES = ["Geneva", "Vienna", "Nairobi", "Lisbon", "Oslo", "Manila"]


def write_wire_stories(folder: Path, numbers: range) -> list[str]:
    """Short, distinct articles `story-NNNN.txt` (names, a place, a quote), each file written whole
    (a hidden temporary file renamed into place, so a connector never reads half of one); returns their ids."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for n in numbers:
        speaker, other = PEOPLE[n % len(PEOPLE)], PEOPLE[(n * 7 + 3) % len(PEOPLE)]
        place = PLACES[(n // len(PEOPLE)) % len(PLACES)]
        text = (
            f"Talks in {place}, round {n}\n\n"
            f"{speaker} met {other} in {place} for round {n} of the talks on water rights. "
            f'"We will keep talking until every village has a share," {speaker} said after session {n}. '
            f"Observers counted {n % 17 + 2} delegations in the hall.\n"
        )
        name = f"story-{n:04d}.txt"
        temporary = folder / f".{name}.partial"
        temporary.write_text(text, encoding="utf-8")
        temporary.rename(folder / name)
        ids.append(f"news/{name}")
    return ids


def corpus_ids(folder: Path, name: str = "news") -> list[str]:
    return sorted(f"{name}/{path.name}" for path in folder.glob("*.txt"))


def write_pipeline_config(home: Path, name: str, bootstrap: str, es_url: str, articles: Path, **extra) -> Path:
    """A config with topics, groups and index unique to one test."""
    config = {
        "data_dir": str(home / "data"),
        "kafka": {"bootstrap_servers": bootstrap, "group_prefix": name},
        "topics": {
            "articles": f"{name}.articles",
            "enriched": f"{name}.enriched",
            "deadletter": f"{name}.deadletter",
            "feeds": f"{name}.feeds",
            "feed_state": f"{name}.feeds.state",
            "partitions": 3,
        },
        "elasticsearch": {"hosts": [es_url], "index": f"{name}-articles", "flush_interval": 0.5, "bulk_max_docs": 50},
        "nlp": {"batch_size": 4},
        "connectors": [{"type": "files", "name": "news", "path": str(articles)}],
    }
    for key, value in extra.items():
        if isinstance(value, dict):
            config.setdefault(key, {}).update(value)
        else:
            config[key] = value
    path = home / "newswire.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def settings_of(config: Path) -> Settings:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NEWSWIRE_")}
    try:
        return load_settings(config)
    finally:
        os.environ.update(saved)


def indexed_ids(settings: Settings) -> list[str]:
    """Every document id under the alias (refreshed first), duplicates included if there were any."""
    client = Elasticsearch(settings.elasticsearch.hosts, request_timeout=30)
    try:
        alias = settings.elasticsearch.index
        if not client.indices.exists_alias(name=alias):
            return []
        client.indices.refresh(index=alias)
        return sorted(hit["_id"] for hit in helpers.scan(client, index=alias, query={"query": {"match_all": {}}}, _source=False, size=1000))
    finally:
        client.close()


def start_in_threads(workers: list, stop: threading.Event) -> list[threading.Thread]:
    """Each worker's `run(stop)` in a thread of its own, started."""
    threads = [threading.Thread(target=worker.run, args=(stop,)) for worker in workers]
    for thread in threads:
        thread.start()
    return threads


def sink_caught_up(settings: Settings) -> bool:
    """True when the sink group's committed offsets are the enriched topic's end offsets."""
    from pipeline.runtime.bus import committed_offsets, end_offsets, group_for, make_consumer

    consumer = make_consumer(settings, group_for(settings, "sink"))
    try:
        topic = settings.topics.enriched
        return committed_offsets(consumer, topic) == end_offsets(consumer, topic)
    finally:
        consumer.close()


def remove_index(settings: ElasticsearchSettings) -> None:
    """Delete the versioned indices behind a test's alias (the alias goes with them) and its template."""
    with Elasticsearch(settings.hosts) as client:
        names = list(client.indices.get(index=f"{settings.index}-*", expand_wildcards="all").body)
        if names:  # deleting by wildcard is refused (action.destructive_requires_name)
            client.options(ignore_status=404).indices.delete(index=",".join(names))
        client.options(ignore_status=404).indices.delete_index_template(name=settings.index)


def running_tasks(client: Elasticsearch, actions: str) -> list[str]:
    """Descriptions of the node's running tasks whose action matches `actions` (e.g. `indices:data/write/bulk[s][p]`)."""
    with warnings.catch_warnings():  # the task API is labelled "technical preview" by the client
        warnings.simplefilter("ignore", GeneralAvailabilityWarning)
        found = client.tasks.list(actions=actions, detailed=True).body
    return [task.get("description", "") for node in found["nodes"].values() for task in node["tasks"].values()]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def start_worker(config: Path, role: str, log: Path) -> subprocess.Popen:
    """`newswire worker ROLE` as its own process, as docker compose runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "worker", role, "-c", str(config)],
        cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
    )


def stop_worker(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=timeout)

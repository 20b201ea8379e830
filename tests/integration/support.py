"""Helpers for the pipeline's integration tests: a per-test config, a corpus, workers as real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from elasticsearch import Elasticsearch

from pipeline.settings import ElasticsearchSettings, Settings, load_settings
from tests.conftest import REPO, SEEDS

ARTICLES = REPO / "tests" / "data" / "articles"


def corpus(folder: Path, copies: int = 1) -> Path:
    """The seed article and a dozen of our own, copied to `folder` (`copies` times, as distinct files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in [*SEEDS.glob("*.txt"), *ARTICLES.glob("*.txt")]:
        shutil.copy(source, folder / source.name)
        for copy in range(1, copies):
            shutil.copy(source, folder / f"copy{copy:02d}-{source.name}")
    return folder


def corpus_ids(folder: Path, name: str = "news") -> list[str]:
    return sorted(f"{name}/{path.name}" for path in folder.glob("*.txt"))


def write_pipeline_config(home: Path, name: str, kafka: str, es: str, articles: Path, **extra) -> Path:
    """A config with topics, groups and index unique to one test."""
    config = {
        "data_dir": str(home / "data"),
        "kafka": {"bootstrap_servers": kafka, "group_prefix": name},
        "topics": {
            "articles": f"{name}.articles",
            "enriched": f"{name}.enriched",
            "deadletter": f"{name}.deadletter",
            "feeds": f"{name}.feeds",
            "feed_state": f"{name}.feeds.state",
            "partitions": 3,
        },
        "elasticsearch": {"hosts": [es], "index": f"{name}-articles", "flush_interval": 0.5, "bulk_max_docs": 50},
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
        result = client.search(index=alias, size=1000, source=False, query={"match_all": {}})
        return sorted(hit["_id"] for hit in result["hits"]["hits"])
    finally:
        client.close()


def remove_index(settings: ElasticsearchSettings) -> None:
    """Delete the versioned indices behind a test's alias (the alias goes with them) and its template."""
    with Elasticsearch(settings.hosts) as client:
        names = list(client.indices.get(index=f"{settings.index}-*", expand_wildcards="all").body)
        if names:  # deleting by wildcard is refused (action.destructive_requires_name)
            client.options(ignore_status=404).indices.delete(index=",".join(names))
        client.options(ignore_status=404).indices.delete_index_template(name=settings.index)


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

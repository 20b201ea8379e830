"""Rollover behind the alias on the real node: a stream across rollovers, re-deliveries and newer versions.

Two sink workers read the enriched topic with a document-count threshold configured (so they roll
the write index over themselves) and one rollover is forced from outside in the middle of the
stream. Then every article from before the rollovers is delivered again, and some in a newer
version. Counted exactly: each id once behind the alias, the newer versions in the index that
held the older one, nothing dead-lettered, the offsets committed to the end.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from elasticsearch import Elasticsearch, helpers
from kafka import KafkaProducer

from pipeline.article import EnrichedArticle, Entity
from pipeline.cli import main
from pipeline.index.elastic import ElasticIndex
from pipeline.index.elastic_rollover import prune, write_index
from pipeline.index.elastic_setup import setup_index
from pipeline.index.elastic_stories import upgrade_document
from pipeline.index.elastic_template import load_template
from pipeline.runtime.deadletters import read_deadletters
from pipeline.runtime.distributed import setup_services
from pipeline.runtime.workers import SinkWorker
from tests.integration.support import (
    PEOPLE,
    remove_index,
    settings_of,
    sink_caught_up,
    start_in_threads,
    wait_for,
    write_pipeline_config,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
FIRST, SECOND = range(0, 300), range(300, 500)
NEWER = range(0, 300, 6)  # 50 articles of the first wave come again in a newer version


def _article(n: int, fetched: datetime = T0, edition: str = "first") -> EnrichedArticle:
    speaker = PEOPLE[n % len(PEOPLE)]
    return EnrichedArticle(
        id=f"wire/{n:05d}", title=f"Harbour report {n} ({edition} edition)", fetched_at=fetched,
        body=f"{speaker} said the harbour wall number {n} held through the night of the {edition} storm.",
        language="en", people=[speaker], speakers=[speaker], entities=[Entity(name=speaker, label="PERSON", mentions=1)],
    )


def _produce(settings, articles: list[EnrichedArticle]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, acks="all", linger_ms=20)
    try:
        for article in articles:
            producer.send(settings.topics.enriched, key=article.id.encode(), value=article.to_json().encode())
        producer.flush(timeout=120)
    finally:
        producer.close()


def _documents(settings) -> list[dict]:
    with Elasticsearch(settings.elasticsearch.hosts, request_timeout=30) as client:
        client.indices.refresh(index=settings.elasticsearch.index)
        return list(helpers.scan(client, index=settings.elasticsearch.index, query={"query": {"match_all": {}}},
                                 _source=["title"], size=1000))


def _indices(settings) -> list[str]:
    with Elasticsearch(settings.elasticsearch.hosts, request_timeout=30) as client:
        return sorted(client.indices.get_alias(name=settings.elasticsearch.index).body)


@pytest.fixture
def rollover_settings(tmp_path, kafka_bootstrap, es_hosts, unique_name):
    config = write_pipeline_config(
        tmp_path, unique_name, kafka_bootstrap, es_hosts, tmp_path / "articles", connectors=[],
        elasticsearch={"rollover_max_docs": 120, "rollover_check_interval": 0.5, "bulk_max_docs": 40, "flush_interval": 0.2},
    )
    settings = settings_of(config)
    setup_services(settings)
    yield settings
    remove_index(settings.elasticsearch)


def test_a_stream_across_rollovers_with_redeliveries_keeps_every_article_once(rollover_settings):
    settings = rollover_settings
    stop = threading.Event()
    sinks = [SinkWorker(settings), SinkWorker(settings)]
    threads = start_in_threads(sinks, stop)
    try:
        _produce(settings, [_article(n) for n in FIRST])
        wait_for(lambda: len(_documents(settings)) == len(FIRST), 300, "the first wave indexed")
        with ElasticIndex(settings.elasticsearch) as index:
            forced = index.rollover(force=True)
        assert forced, f"the forced rollover happened: {_indices(settings)}"
        before = {hit["_id"]: hit["_index"] for hit in _documents(settings)}
        later = T0 + timedelta(hours=6)
        _produce(settings, [_article(n) for n in SECOND]
                 + [_article(n) for n in FIRST]  # every article of the first wave delivered again
                 + [_article(n, later, "second") for n in NEWER])
        wait_for(lambda: sink_caught_up(settings) and len(_documents(settings)) >= len(FIRST) + len(SECOND), 300,
                 "the second wave, the re-deliveries and the newer versions indexed")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    documents = _documents(settings)
    ids = sorted(hit["_id"] for hit in documents)
    expected = sorted(f"wire/{n:05d}" for n in [*FIRST, *SECOND])
    assert len(ids) == len(set(ids)) == len(expected) and ids == expected, (len(ids), len(set(ids)), len(expected))
    where = {hit["_id"]: hit["_index"] for hit in documents}
    assert all(where[doc_id] == index for doc_id, index in before.items()), "an article from before a rollover stays where it was"
    titles = {hit["_id"]: hit["_source"]["title"] for hit in documents}
    assert all(titles[f"wire/{n:05d}"].endswith("(second edition)") for n in NEWER), "the newer versions replaced the old ones"
    assert sum(title.endswith("(second edition)") for title in titles.values()) == len(NEWER)
    indices = _indices(settings)
    rolled_by_the_sinks = len(indices) - 2  # the first index and the forced one are not theirs
    assert rolled_by_the_sinks >= 1, indices
    assert len({where[f"wire/{n:05d}"] for n in FIRST}) >= 2, "the first wave itself spans a rollover"
    assert read_deadletters(settings) == [], "nothing dead-lettered"
    with ElasticIndex(settings.elasticsearch) as index:
        found = index.get(f"wire/{NEWER[1]:05d}")
        assert found is not None and found.title.endswith("(second edition)"), "a get finds an article in an older index"
    print(f"rollover: {len(expected)} articles once each across {len(indices)} indices "
          f"({rolled_by_the_sinks} rolled over by the sinks, 1 forced), {len(FIRST)} re-delivered, {len(NEWER)} newer versions")


def test_a_mapping_move_after_rollovers_copies_every_index_into_one(rollover_settings):
    settings = rollover_settings.elasticsearch
    with ElasticIndex(settings) as index:
        for wave in range(3):
            written = index.write([_article(n) for n in range(wave * 40, wave * 40 + 40)])
            assert {result.status for result in written} == {"indexed"}
            assert index.rollover(force=True)
        again = index.setup()
        assert all("up to date" in line for line in again), again
        current = load_template()
        with Elasticsearch(settings.hosts, request_timeout=60) as client:
            lines = setup_index(client, settings.index, type(current)(current.version + 1, current.settings, current.mappings),
                                upgrade=upgrade_document)
        assert sum(line.startswith("copied 40 documents") for line in lines) == 3, lines
        assert _indices(rollover_settings) == [f"{settings.index}-v{current.version + 1}"]
        assert sorted(hit["_id"] for hit in _documents(rollover_settings)) == [f"wire/{n:05d}" for n in range(120)]


def test_prune_lists_then_deletes_the_old_indices_never_the_write_index(rollover_settings, tmp_path, capsys):
    settings = rollover_settings.elasticsearch
    with ElasticIndex(settings) as index:
        for wave in range(2):
            index.write([_article(n) for n in range(wave * 10, wave * 10 + 10)])
            index.rollover(force=True)
        before = _indices(rollover_settings)
        assert index.prune(3600) == [f"no index behind {settings.index} is older than the retention"]
        with Elasticsearch(settings.hosts, request_timeout=30) as client:
            day_later = datetime.now(timezone.utc) + timedelta(days=1)
            listed = prune(client, settings.index, 3600, day_later)
            assert _indices(rollover_settings) == before, "a dry run deletes nothing"
            deleted = prune(client, settings.index, 3600, day_later, apply=True)
            writer = write_index(client, settings.index)
    assert len(before) == 3 and [line.split()[2] for line in listed] == [i for i in before if i != writer], listed
    assert [line.replace("deleted", "would delete", 1) for line in deleted] == listed
    assert _indices(rollover_settings) == [writer] and _documents(rollover_settings) == []
    config = tmp_path / "newswire.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("rollover_max_docs: 120", "rollover_max_docs: 120\n  retention: 3600"), encoding="utf-8")
    assert main(["index", "prune", "-c", str(config)]) == 0
    assert "is older than the retention" in capsys.readouterr().err


def test_newer_versions_sent_to_an_older_index_during_a_mapping_move_follow_their_copy(rollover_settings, caplog):
    """The newer versions go to the rolled-over index by name; the move blocks it mid-write: they must land in the new index."""
    settings = rollover_settings.elasticsearch
    results: list = []
    caplog.set_level(logging.WARNING, logger="pipeline.index.elastic_bulk")
    with ElasticIndex(settings) as index:
        index.write([_article(n) for n in range(20)])
        assert index.rollover(force=True)
        newer = [_article(n, T0 + timedelta(hours=1), "second") for n in range(20)]
        writer = threading.Thread(target=lambda: results.extend(index.write(newer)))

        def start_writing(step: str, source: str) -> None:
            if step == "copying" and not writer.is_alive() and not results:
                writer.start()  # the old indices are blocked now: the first bulk is refused, then retargeted

        current = load_template()
        with Elasticsearch(settings.hosts, request_timeout=60) as client:
            setup_index(client, settings.index, type(current)(current.version + 1, current.settings, current.mappings),
                        upgrade=upgrade_document, on_step=start_writing)
        writer.join(timeout=300)
    assert not writer.is_alive() and [r.status for r in results] == ["indexed"] * 20, results
    refused = [r.getMessage() for r in caplog.records if "elasticsearch bulk retry" in r.getMessage()]
    assert refused and "cluster_block_exception" in refused[0], "the first bulk met the block"
    documents = _documents(rollover_settings)
    assert sorted(hit["_id"] for hit in documents) == [f"wire/{n:05d}" for n in range(20)]
    assert all(hit["_source"]["title"].endswith("(second edition)") for hit in documents)
    assert {hit["_index"] for hit in documents} == {f"{settings.index}-v{current.version + 1}"}

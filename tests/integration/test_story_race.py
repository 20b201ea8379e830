"""Story identity across sink workers on the real Kafka broker and Elasticsearch node.

The copies of the labelled set (eval/stories: 20 wire stories, 90 syndicated copies, 20
follow-ups) go straight onto the enriched topic as EnrichedArticles, so only the sinks work.

- The race: two sink workers, each holding one partition, each get one copy of every story at
  the same moment; both look up before either writes (a barrier holds both writes until both
  looked), so each starts a story of its own for every copy. After both settle there is one
  story per wire story, named after the copy seen first, with its count.
- kill -9: a sink writing the set in small batches is killed in the middle and restarted; no
  copy is lost and every wire story is one story.
"""

from __future__ import annotations

import signal
import threading
from collections import defaultdict

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from pipeline.article import EnrichedArticle, Source
from pipeline.index.elastic import ElasticIndex
from pipeline.index.elastic_stories import ElasticStories
from pipeline.runtime.distributed import setup_services
from pipeline.runtime.workers import SinkWorker
from tests.integration.support import settings_of, start_in_threads, start_worker, stop_worker, wait_for, write_pipeline_config
from tests.integration.test_pipeline import committed
from tests.unit.test_story_step import SET, T0

pytestmark = pytest.mark.integration

WIRE_STORIES = sorted({row["story"] for row in SET.values() if row["kind"] == "wire"})


def labelled(labelled_id: str) -> EnrichedArticle:
    row = SET[labelled_id]
    outlet = labelled_id.split("/")[1]
    return EnrichedArticle(
        id=f"https://{outlet}.example/{labelled_id}", title=row["title"], body=row["body"], url=f"https://{outlet}.example/{labelled_id}",
        published_at=T0, fetched_at=T0, language="en", source=Source(connector="rss", name=outlet),
    )


def produce(settings, articles: list[EnrichedArticle], partition_of) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
    for article in articles:
        producer.send(settings.topics.enriched, key=article.id.encode(), value=article.to_json().encode(), partition=partition_of(article))
    producer.flush()
    producer.close()


def indexed(settings) -> dict[str, dict]:
    with Elasticsearch(settings.elasticsearch.hosts, request_timeout=30) as client:
        client.indices.refresh(index=settings.elasticsearch.index)
        hits = client.search(index=settings.elasticsearch.index, size=1000, source=["story_id", "copies"], query={"match_all": {}})
        return {hit["_id"]: hit["_source"] for hit in hits["hits"]["hits"]}


def assert_one_story_per_wire_story(found: dict[str, dict], articles: list[EnrichedArticle]) -> None:
    gold = {a.id: SET[a.id.split(".example/", 1)[1]]["story"] for a in articles}
    assert sorted(found) == sorted(gold), "every copy indexed, none twice"
    stories = defaultdict(set)
    for article_id, story in gold.items():
        stories[story].add(found[article_id]["story_id"])
    split = {story: ids for story, ids in stories.items() if len(ids) != 1}
    assert not split, f"stories split apart: {split}"
    assert len({next(iter(ids)) for ids in stories.values()}) == len(stories), "no two stories joined"
    for story, (root,) in stories.items():
        members = [i for i, g in gold.items() if g == story]
        assert root in members and found[root]["copies"] == len(members), (story, found[root])
        assert all(found[m].get("copies") is None for m in members if m != root)


@pytest.fixture
def race_config(tmp_path, kafka_bootstrap, es_hosts, unique_name):
    def make(**extra):
        return write_pipeline_config(tmp_path, unique_name, kafka_bootstrap, es_hosts, tmp_path / "unused", **extra)

    return make


def test_two_sinks_seeing_copies_of_the_same_stories_at_once_converge(race_config, monkeypatch):
    settings = settings_of(race_config(topics={"partitions": 2}, elasticsearch={"bulk_max_docs": 200, "flush_interval": 2.0}))
    setup_services(settings)
    wires = [labelled(f"{story}/wire") for story in WIRE_STORIES]
    first_copies = [labelled(next(i for i, r in SET.items() if r["story"] == story and r["kind"] == "copy")) for story in WIRE_STORIES]
    articles = wires + first_copies
    on_partition_one = {a.id for a in first_copies}

    # Both sinks hold their first write until both have looked up: the worst case, every time.
    both_looked = threading.Barrier(2, timeout=120)
    merges = []
    write, merge = ElasticIndex.write, ElasticStories.merge

    def write_after_both_looked(self, *args, **kwargs):
        if not getattr(self, "_raced", False):
            self._raced = True
            both_looked.wait()
        return write(self, *args, **kwargs)

    def counted_merge(self, into, into_seen_at, stories):
        merges.append((into, tuple(stories)))
        return merge(self, into, into_seen_at, stories)

    monkeypatch.setattr(ElasticIndex, "write", write_after_both_looked)
    monkeypatch.setattr(ElasticStories, "merge", counted_merge)
    stop = threading.Event()
    sinks = [SinkWorker(settings), SinkWorker(settings)]
    threads = start_in_threads(sinks, stop)
    try:
        def shares():
            held = [{tp.partition for tp in s.consumer.assignment()} if getattr(s, "consumer", None) else set() for s in sinks]
            return held if all(held) and not held[0] & held[1] else None

        wait_for(shares, 120, "each sink to hold one partition")
        produce(settings, articles, lambda a: 1 if a.id in on_partition_one else 0)
        wait_for(lambda: committed(settings, "sink", settings.topics.enriched) >= len(articles), 240, "both partitions indexed")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not both_looked.broken, "the two sinks did not write at the same moment"
    assert all(sink.report.read == len(WIRE_STORIES) for sink in sinks)
    found = indexed(settings)
    assert_one_story_per_wire_story(found, articles)
    assert len(merges) >= 1 and sum(len(m[1]) for m in merges) >= len(WIRE_STORIES), "each pair started two stories and merged"
    for story in WIRE_STORIES:  # the story is named after one of its two copies; both sinks agreed which
        ids = {a.id for a in articles if SET[a.id.split(".example/", 1)[1]]["story"] == story}
        assert {found[i]["story_id"] for i in ids} <= ids


def test_kill_9_in_the_middle_of_a_storys_copies_loses_none_and_leaves_one_story(race_config, tmp_path):
    config = race_config(topics={"partitions": 1}, elasticsearch={"bulk_max_docs": 3, "flush_interval": 0.2})
    settings = settings_of(config)
    setup_services(settings)
    # Story by story, interleaved: every batch of three holds copies of stories already begun.
    by_story = defaultdict(list)
    for labelled_id, row in SET.items():
        if row["story"] in WIRE_STORIES and row["kind"] in ("wire", "copy"):
            by_story[row["story"]].append(labelled(labelled_id))
    articles = [a for round_ in zip(*(by_story[s] + [None] * 6 for s in WIRE_STORIES)) for a in round_ if a is not None]
    produce(settings, articles, lambda a: 0)
    log = tmp_path / "sink.log"
    sink = start_worker(config, "sink", log)
    try:
        # A consumer that joins before it has its topic's metadata is assigned nothing until the next
        # metadata refresh (kafka-python, metadata_max_age_ms = 5 min): wait past that on a loaded machine.
        wait_for(lambda: committed(settings, "sink", settings.topics.enriched) >= 30, 420, "the sink's first commits", interval=0.1)
        assert stop_worker(sink, signal.SIGKILL) == -signal.SIGKILL
        partial = committed(settings, "sink", settings.topics.enriched)
        assert 0 < partial < len(articles), f"killed in the middle: {partial} of {len(articles)} committed"
        sink = start_worker(config, "sink", log)
        wait_for(lambda: committed(settings, "sink", settings.topics.enriched) >= len(articles), 300, "every copy after the restart")
    finally:
        stop_worker(sink)
    assert_one_story_per_wire_story(indexed(settings), articles)
    assert "Traceback" not in log.read_text()


def test_the_labelled_set_through_a_sink_groups_as_the_scorer_says(race_config):
    """Follow-ups and same-topic twins stay stories of their own through the real path, not only in eval."""
    settings = settings_of(race_config(topics={"partitions": 1}, elasticsearch={"bulk_max_docs": 25}))
    setup_services(settings)
    chosen = [i for i, row in SET.items() if row["story"] in WIRE_STORIES[:5] or row["story"].split("/")[0] in WIRE_STORIES[:5]]
    articles = [labelled(i) for i in chosen]
    produce(settings, articles, lambda a: 0)
    stop = threading.Event()
    sink = SinkWorker(settings)
    thread = threading.Thread(target=sink.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: committed(settings, "sink", settings.topics.enriched) >= len(articles), 240, "the set indexed")
    finally:
        stop.set()
        thread.join(timeout=60)
    found = indexed(settings)
    predicted = defaultdict(set)
    gold = defaultdict(set)
    for article in articles:
        predicted[found[article.id]["story_id"]].add(article.id)
        gold[SET[article.id.split(".example/", 1)[1]]["story"]].add(article.id)
    assert sorted(map(sorted, predicted.values())) == sorted(map(sorted, gold.values()))

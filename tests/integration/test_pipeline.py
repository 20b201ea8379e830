"""The distributed pipeline end to end on the real Kafka broker and the real Elasticsearch node."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from kafka import KafkaProducer

from pipeline.index.elastic import ElasticIndex
from pipeline.runtime.bus import group_for, make_consumer
from pipeline.runtime.deadletters import read_deadletters, replay_deadletters
from pipeline.runtime.distributed import run_all, setup_services
from pipeline.runtime.workers import ConnectorsWorker, EnrichWorker, SinkWorker
from pipeline.search import SearchQuery
from tests.integration.support import (
    corpus,
    corpus_ids,
    indexed_ids,
    settings_of,
    start_in_threads,
    start_worker,
    stop_worker,
    wait_for,
    write_pipeline_config,
)
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline_config(tmp_path, kafka_bootstrap, es_hosts, unique_name):
    articles = corpus(tmp_path / "articles")

    def make(home=None, **extra):
        home = home or tmp_path
        return write_pipeline_config(home, unique_name, kafka_bootstrap, es_hosts, articles, **extra)

    make.articles = articles
    return make


def committed(settings, role: str, topic: str) -> int:
    consumer = make_consumer(settings, group_for(settings, role))
    try:
        from pipeline.runtime.bus import committed_offsets

        return sum(committed_offsets(consumer, topic).values())
    finally:
        consumer.close()


def test_seed_and_a_dozen_articles_end_to_end_and_again_without_duplicates(pipeline_config, tmp_path):
    config = pipeline_config()
    settings = settings_of(config)
    expected = corpus_ids(pipeline_config.articles)
    report = run_all(settings, once=True, stop=threading.Event())
    assert report.read == 13 and report.dead == 0
    assert indexed_ids(settings) == expected

    with ElasticIndex(settings.elasticsearch) as index:
        hits = index.search(SearchQuery(text="Blinken", speaker="Antony Blinken"))
        assert hits and hits[0].article.id == "news/000_8b8c846030eca38d.txt"
        seed = hits[0].article
        assert {q.speaker for q in seed.quotes if q.text.startswith(("As we stand", "So this is"))} == {"Antony Blinken"}
        assert {"Antony Blinken", "David Cameron", "Hamas", "Israel", "Gaza"} <= {e.name for e in seed.entities}
        assert [h.article.id for h in index.search(SearchQuery(text="harbour", person="Joseph Borg"))] == ["news/01_harbour.txt"]

    # A second run from scratch (new checkpoints: every article is produced again) still leaves one document each.
    second_home = tmp_path / "second"
    second_home.mkdir()
    again = settings_of(pipeline_config(home=second_home))
    run_all(again, once=True, stop=threading.Event())
    assert indexed_ids(again) == expected


def test_setup_is_idempotent(pipeline_config):
    settings = settings_of(pipeline_config())
    first = setup_services(settings)
    second = setup_services(settings)
    assert any("created" in line for line in first)
    assert not any("created" in line for line in second)


@pytest.mark.parametrize("role", ["enrich", "sink"])
def test_kill_9_mid_batch_then_restart_loses_and_doubles_nothing(pipeline_config, tmp_path, role):
    corpus(pipeline_config.articles, copies=30)  # 390 articles: enough work to be killed in the middle of
    config = pipeline_config(elasticsearch={"bulk_max_docs": 5})
    settings = settings_of(config)
    expected = corpus_ids(pipeline_config.articles)
    total = len(expected)
    setup_services(settings)
    ConnectorsWorker(settings).run(threading.Event(), once=True)
    logs = tmp_path / f"{role}.log"
    other = "sink" if role == "enrich" else "enrich"
    steady = start_worker(config, other, tmp_path / f"{other}.log")
    victim = start_worker(config, role, logs)
    try:
        topic = settings.topics.articles if role == "enrich" else settings.topics.enriched
        wait_for(lambda: committed(settings, role, topic) >= 4, 180, f"the {role} worker's first commits", interval=0.2)
        assert stop_worker(victim, signal.SIGKILL) == -signal.SIGKILL
        partial = committed(settings, role, topic)
        assert 0 < partial < total, f"killed in the middle: {partial} of {total} committed"
        victim = start_worker(config, role, logs)
        wait_for(lambda: indexed_ids(settings) == expected, 300, "every article indexed after the restart")
    finally:
        stop_worker(victim)
        stop_worker(steady)
    assert indexed_ids(settings) == expected
    assert read_deadletters(settings) == []


def test_elasticsearch_outage_of_30_seconds_loses_nothing(pipeline_config, es_hosts, tmp_path):
    host, port = es_hosts.rsplit("//", 1)[1].split(":")
    proxy = TcpProxy(host, int(port)).start()
    config = pipeline_config(elasticsearch={"hosts": [proxy.url]})
    settings = settings_of(config)
    direct_home = tmp_path / "direct"
    direct_home.mkdir()
    direct = settings_of(pipeline_config(home=direct_home))  # same topics and alias, straight to the node
    expected = corpus_ids(pipeline_config.articles)
    setup_services(settings)
    ConnectorsWorker(settings).run(threading.Event(), once=True)
    enrich = start_worker(config, "enrich", tmp_path / "enrich.log")
    proxy.outage()
    sink = start_worker(config, "sink", tmp_path / "sink.log")
    try:
        wait_for(lambda: committed(settings, "enrich", settings.topics.articles) >= 13, 240, "enrichment of the corpus")
        time.sleep(30)
        assert committed(settings, "sink", settings.topics.enriched) == 0, "nothing committed while the node was away"
        assert sink.poll() is None, "the sink survived the outage"
        proxy.restore()
        wait_for(lambda: indexed_ids(direct) == expected, 180, "the sink to recover by itself")
    finally:
        stop_worker(sink)
        stop_worker(enrich)
        proxy.close()
    assert stop_worker(sink) == 0
    log = (tmp_path / "sink.log").read_text()
    assert "Traceback" not in log
    assert "unreachable" in log.lower() or "retry" in log.lower()


def test_poison_records_go_to_the_dead_letter_topic_and_the_partition_moves_on(pipeline_config, kafka_bootstrap):
    config = pipeline_config()
    settings = settings_of(config)
    setup_services(settings)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(settings.topics.articles, key=b"p1", value=b"\x00\x01 not json", partition=0)
    producer.send(settings.topics.articles, key=b"p2", value=json.dumps({"id": "p2", "title": "no body"}).encode(), partition=0)
    producer.send(settings.topics.articles, key=b"ok", value=json.dumps({"id": "ok", "title": "Fine", "body": "Ines Moreau wrote it."}).encode(), partition=0)
    producer.send(settings.topics.enriched, key=b"e1", value=b"{broken", partition=1)
    producer.flush()
    producer.close()
    run_all(settings, once=True, stop=threading.Event())
    assert "ok" in indexed_ids(settings)
    letters = read_deadletters(settings)
    by_key = {(letter.stage, letter.source["topic"]): letter for letter in letters}
    decode = [l for l in letters if l.stage == "decode" and l.source["topic"] == settings.topics.articles]
    assert len(decode) == 2 and {l.source["partition"] for l in decode} == {0}
    assert sorted(l.source["offset"] for l in decode) == [0, 1]
    assert any("field 'body'" in l.reason for l in decode)
    assert decode[0].payload_bytes() in (b"\x00\x01 not json", json.dumps({"id": "p2", "title": "no body"}).encode())
    assert ("decode", settings.topics.enriched) in by_key
    assert committed(settings, "enrich", settings.topics.articles) == 13 + 3

    # Replay re-drives each dead letter once; still-bad payloads are counted, not looped.
    replayed, skipped = replay_deadletters(settings)
    assert (replayed, skipped) == (0, 3)
    assert replay_deadletters(settings) == (0, 0)


def test_two_enrich_workers_share_the_partitions(pipeline_config):
    settings = settings_of(pipeline_config())
    setup_services(settings)
    stop = threading.Event()
    workers = [EnrichWorker(settings), EnrichWorker(settings)]
    threads = start_in_threads(workers, stop)
    try:
        def assignments():
            if not all(getattr(w, "consumer", None) for w in workers):
                return None
            sets = [{tp.partition for tp in w.consumer.assignment()} for w in workers]
            return sets if all(sets) and len(sets[0] | sets[1]) == 3 else None

        shares = wait_for(assignments, 120, "both workers to hold partitions")
        assert not shares[0] & shares[1]
        # The corpus is produced once the partitions are shared: a worker that joined first cannot
        # have enriched all of it before the other was assigned its share.
        ConnectorsWorker(settings).run(threading.Event(), once=True)
        wait_for(lambda: committed(settings, "enrich", settings.topics.articles) >= 13, 240, "the corpus enriched")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert sum(w.report.read for w in workers) >= 13
    assert all(w.report.read > 0 for w in workers)


def test_huge_records_are_dead_lettered_and_big_articles_still_flow(pipeline_config, kafka_bootstrap):
    settings = settings_of(pipeline_config(connectors=[]))
    setup_services(settings)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=16 * 1024 * 1024)
    big_body = ("Farmers in Andalusia warned of drought, Lucia Navarro said. " * 25_000)[:1_500_000]
    big = json.dumps({"id": "big", "title": "Long report", "body": big_body}).encode()
    huge = json.dumps({"id": "huge", "title": "Too long", "body": "x" * (9 * 1024 * 1024)}).encode()
    producer.send(settings.topics.articles, key=b"big", value=big, partition=0)
    producer.send(settings.topics.articles, key=b"huge", value=huge, partition=0)
    producer.send(settings.topics.articles, key=b"after", value=json.dumps({"id": "after", "title": "After", "body": "Next one."}).encode(), partition=0)
    producer.flush()
    producer.close()
    assert len(big) > 1024 * 1024, "over the broker's default message size: the topic's own limit lets it through"
    run_all(settings, once=True, stop=threading.Event())
    assert indexed_ids(settings) == ["after", "big"]
    letters = read_deadletters(settings)
    assert len(letters) == 1 and letters[0].source["offset"] == 1
    assert "over the limit of 8388608" in letters[0].reason and len(letters[0].payload_bytes()) == 64 * 1024

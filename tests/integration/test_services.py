"""The test services themselves: Kafka round trip, and the Elasticsearch features the product relies on."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch, helpers
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _versions() -> dict[str, str]:
    text = (REPO / "scripts" / "versions.env").read_text()
    return dict(re.findall(r"^([A-Z_]+)=(\S+)", text, re.MULTILINE))


@pytest.fixture
def es(es_hosts: str):
    with Elasticsearch(es_hosts, request_timeout=30) as client:
        yield client


@pytest.fixture
def index_name(es: Elasticsearch, unique_name: str):
    """A unique index/alias/template name; everything named after it is removed afterwards."""
    yield unique_name
    es.options(ignore_status=404).indices.delete_index_template(name=f"{unique_name}*")
    # A stock node refuses wildcard deletes (action.destructive_requires_name): name each index.
    indices = list(es.indices.get(index=f"{unique_name}*", expand_wildcards="all"))
    if indices:
        es.indices.delete(index=",".join(indices))


def test_kafka_produce_consume_round_trip(kafka_bootstrap: str, unique_name: str):
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for n in range(3):
            producer.send(unique_name, key=f"article-{n}".encode(), value=json.dumps({"n": n}).encode())
        producer.flush(timeout=30)
    finally:
        producer.close()

    consumer = KafkaConsumer(
        unique_name,
        bootstrap_servers=kafka_bootstrap,
        group_id=unique_name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=30_000,
    )
    try:
        received = []
        for record in consumer:
            received.append((record.key.decode(), json.loads(record.value)))
            if len(received) == 3:
                break
        consumer.commit()
    finally:
        consumer.close()
    assert received == [(f"article-{n}", {"n": n}) for n in range(3)]


def test_elasticsearch_root_answers_as_elasticsearch_9(es_hosts: str, es: Elasticsearch):
    response = es.perform_request("GET", "/")  # the client itself checks X-Elastic-Product
    assert response.meta.headers.get("X-Elastic-Product") == "Elasticsearch"
    assert response.body["version"]["number"] == _versions()["ELASTICSEARCH_VERSION"]
    assert response.body["version"]["number"].startswith("9.")
    assert es.info()["tagline"] == "You Know, for Search"


def test_index_template_with_english_analyzer(es: Elasticsearch, index_name: str):
    es.indices.put_index_template(
        name=index_name,
        index_patterns=[f"{index_name}-*"],
        template={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"title": {"type": "text", "analyzer": "english"}}},
        },
    )
    es.indices.create(index=f"{index_name}-v1", aliases={index_name: {"is_write_index": True}})
    mapping = es.indices.get_mapping(index=f"{index_name}-v1")
    assert mapping[f"{index_name}-v1"]["mappings"]["properties"]["title"]["analyzer"] == "english"

    tokens = es.indices.analyze(index=index_name, field="title", text="The ministers were running")
    assert [t["token"] for t in tokens["tokens"]] == ["minist", "were", "run"]
    custom = es.indices.analyze(analyzer="english", text="running")  # pre-built, no index needed
    assert [t["token"] for t in custom["tokens"]] == ["run"]


def test_product_index_templates_install(es: Elasticsearch, index_name: str):
    """Every template under config/elasticsearch/ installs unchanged and makes an index."""
    templates = sorted((REPO / "config" / "elasticsearch").glob("*.template.json"))
    for n, path in enumerate(templates):
        body = json.loads(path.read_text())
        body["index_patterns"] = [f"{index_name}-{n}-*"]
        body["priority"] = 1000 + n
        es.indices.put_index_template(name=f"{index_name}-{n}", **body)
        es.indices.create(index=f"{index_name}-{n}-v1")
        settings = es.indices.get(index=f"{index_name}-{n}-v1")[f"{index_name}-{n}-v1"]
        assert settings["mappings"] == body["template"]["mappings"], path.name
        es.indices.delete_index_template(name=f"{index_name}-{n}")


def test_bulk_search_nested_aggregation_round_trip(es: Elasticsearch, index_name: str):
    es.indices.create(
        index=f"{index_name}-v1",
        aliases={index_name: {"is_write_index": True}},
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "properties": {
                "title": {"type": "text", "analyzer": "english"},
                "body": {"type": "text", "analyzer": "english", "index_options": "offsets"},
                "feed": {"type": "keyword"},
                "quotes": {"type": "nested", "properties": {"speaker": {"type": "keyword"}, "text": {"type": "text"}}},
            }
        },
    )
    articles = [
        {"_id": "a1", "title": "Ministers were running late", "body": "The ministers are running late again.",
         "feed": "bbc", "quotes": [{"speaker": "Alice Smith", "text": "We are running"}]},
        {"_id": "a2", "title": "Cats jumped", "body": "Jumping cats everywhere.",
         "feed": "cnn", "quotes": [{"speaker": "Bob Jones", "text": "Cats"}]},
        {"_id": "a3", "title": "Run for office", "body": "She runs for office.", "feed": "bbc", "quotes": []},
    ]
    actions = [
        {"_op_type": "index", "_index": index_name, "_id": a.pop("_id"), "version": 10,
         "version_type": "external_gte", "_source": a}
        for a in articles
    ]
    ok, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert (ok, errors) == (3, [])

    # An older external version is refused: the document keeps its newer content.
    stale = [{"_op_type": "index", "_index": index_name, "_id": "a1", "version": 9, "version_type": "external",
              "_source": {"title": "stale"}}]
    ok, errors = helpers.bulk(es, stale, raise_on_error=False)
    assert ok == 0 and errors[0]["index"]["status"] == 409
    es.indices.refresh(index=index_name)

    found = es.search(
        index=index_name,
        query={"bool": {
            "must": [{"multi_match": {"query": "run", "fields": ["title^2", "body"]}}],
            "filter": [{"nested": {"path": "quotes", "query": {"term": {"quotes.speaker": "Alice Smith"}}}}],
        }},
        highlight={"fields": {"body": {}}},
        aggs={"feeds": {"terms": {"field": "feed"}}},
    )
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["a1"]
    assert found["hits"]["hits"][0]["highlight"]["body"] == ["The ministers are <em>running</em> late again."]
    assert found["aggregations"]["feeds"]["buckets"] == [{"key": "bbc", "doc_count": 1}]

    everything = es.search(index=index_name, size=0, aggs={"feeds": {"terms": {"field": "feed"}}})
    assert {b["key"]: b["doc_count"] for b in everything["aggregations"]["feeds"]["buckets"]} == {"bbc": 2, "cnn": 1}
    assert es.count(index=index_name, query={"query_string": {"query": "title:run"}})["count"] == 2
    assert es.count(index=index_name)["count"] == 3
    assert es.get(index=index_name, id="a1")["_version"] == 10


# -- instances of a test's own (scripts/services --instance) ----------------------------------------


def _offsets(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


@pytest.mark.parametrize("hard", [True, False], ids=["kill-9", "sigterm"])
def test_a_broker_instance_restarts_on_its_port_and_data(service_instance, kafka_bootstrap, unique_name, hard):
    broker = service_instance("kafka")
    assert broker.kafka_bootstrap != kafka_bootstrap  # never the shared broker
    producer = KafkaProducer(bootstrap_servers=broker.kafka_bootstrap, acks="all")
    try:
        for n in range(20):
            producer.send(unique_name, value=f"article-{n}".encode())
        producer.flush(timeout=30)
    finally:
        producer.close()
    address = broker.kafka_bootstrap
    broker.stop("kafka", hard=hard)
    with pytest.raises(ConnectionRefusedError):  # the broker is really down
        socket.create_connection(("127.0.0.1", int(address.rpartition(":")[2])), timeout=5).close()
    broker.resume("kafka")
    assert broker.kafka_bootstrap == address
    assert _offsets(address, unique_name) == 20


def test_a_node_instance_takes_settings_and_keeps_its_data_through_restarts(service_instance, es_hosts, unique_name):
    node = service_instance("elasticsearch", es_settings={"thread_pool.write.queue_size": 3})
    assert node.es_hosts != es_hosts

    def write_pool(client: Elasticsearch) -> dict:
        pools = client.nodes.info(metric="thread_pool").body["nodes"]
        return next(iter(pools.values()))["thread_pool"]["write"]

    with Elasticsearch(node.es_hosts, request_timeout=30) as client:
        assert write_pool(client)["queue_size"] == 3
        client.index(index=unique_name, id="a1", document={"title": "kept"}, refresh=True)
    node.restart(hard=True)
    node.restart(es_settings={"thread_pool.write.queue_size": 5})
    with Elasticsearch(node.es_hosts, request_timeout=30) as client:
        assert write_pool(client)["queue_size"] == 5
        assert client.get(index=unique_name, id="a1")["_source"] == {"title": "kept"}

"""The reads of the Index contract, the search page's API and exports over the real Elasticsearch node.

Same articles and same checks as on the embedded index (tests/index_reads.py), so the page
behaves the same whichever index is configured. Each test works behind its own alias.
"""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from elasticsearch import Elasticsearch
from starlette.testclient import TestClient

from pipeline.export import TABLES, open_writer, write_all
from pipeline.index import elastic_reads
from pipeline.index.elastic import ElasticIndex, build_search
from pipeline.search import SearchQuery
from pipeline.settings import ElasticsearchSettings
from pipeline.web import create_app
from tests import index_reads
from tests.integration.support import remove_index

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(es_hosts, unique_name) -> ElasticsearchSettings:
    return ElasticsearchSettings(hosts=[es_hosts], index=f"newswire-reads-{unique_name}", request_timeout=20)


@pytest.fixture
def index(settings):
    """The reads corpus behind the test's own alias, removed afterwards."""
    try:
        with ElasticIndex(settings) as opened:
            opened.setup()
            assert all(result.ok for result in opened.write(index_reads.corpus()))
            opened.refresh()
            yield opened
    finally:
        remove_index(settings)


@pytest.mark.parametrize("check", index_reads.ALL_CHECKS, ids=lambda check: check.__name__)
def test_elasticsearch_reads(index, check):
    check(index)


class _Recorder:
    """The real client, with the point-in-time calls written down."""

    def __init__(self, client: Elasticsearch) -> None:
        self.client = client
        self.opened: list[str] = []
        self.closed: list[str] = []

    def open_point_in_time(self, **kwargs):
        answer = self.client.open_point_in_time(**kwargs)
        self.opened.append(answer["id"])
        return answer

    def close_point_in_time(self, **kwargs):
        self.closed.append(kwargs["id"])
        return self.client.close_point_in_time(**kwargs)

    def search(self, **kwargs):
        return self.client.search(**kwargs)


def test_a_scan_closes_its_point_in_time_when_done_or_abandoned(index, settings):
    query = build_search(SearchQuery())["query"]
    with Elasticsearch(settings.hosts) as client:
        finished = _Recorder(client)
        assert len(list(elastic_reads.scan(finished, settings.index, query, 1))) == 4
        assert len(finished.opened) == 1 and len(finished.closed) == 1
        abandoned = _Recorder(client)
        scan = elastic_reads.scan(abandoned, settings.index, query, 1)
        next(scan)
        scan.close()
        assert len(abandoned.closed) == 1, "closing the iterator closes the point in time"


def test_a_scan_sees_the_index_as_it_was_when_it_began(index):
    scan = index.scan(SearchQuery(), page_size=1)
    first = next(scan)
    index.write([index_reads.corpus()[0].model_copy(update={"id": "reads/later"})])
    index.refresh()
    assert sorted([first.id, *(article.id for article in scan)]) == sorted(article.id for article in index_reads.corpus())
    assert index.count() == 5


def test_the_api_over_elasticsearch_answers_as_over_the_embedded_index(index, settings):
    with TestClient(create_app(lambda: ElasticIndex(settings))) as client:
        search = client.get("/api/search", params={"q": "ceasefire"}).json()
        facets = client.get("/api/facets", params={"q": "Blinken"}).json()["facets"]
        quotes = client.get("/api/quotes", params={"speaker": "Antony Blinken"}).json()
        article = client.get("/api/article", params={"id": "reads/harbour"}).json()
        page = client.get("/", params={"q": "Blinken", "speaker": "Antony Blinken"})
        missing = client.get("/api/article", params={"id": "reads/none"})
    assert search["total"] == 1 and search["results"][0]["id"] == "reads/blinken"
    assert {"text": "ceasefire", "match": True} in search["results"][0]["snippets"][0]
    assert facets["person"] == [{"value": "Antony Blinken", "count": 2}, {"value": "David Cameron", "count": 1}]
    assert [len(group["quotes"]) for group in quotes["speakers"]] == [2] and quotes["speakers"][0]["speaker"] == "Antony Blinken"
    assert article["title"] == "Harbour reopens"
    assert page.status_code == 200 and page.text.count('<li class="quote quote-direct">') == 2
    assert missing.status_code == 404


def test_an_unreachable_node_is_a_503_page(settings):
    gone = settings.model_copy(update={"hosts": ["http://127.0.0.1:9"], "request_timeout": 2})
    with TestClient(create_app(lambda: ElasticIndex(gone))) as client:
        answer = client.get("/api/search", params={"q": "x"})
    assert answer.status_code == 503 and "127.0.0.1:9" not in answer.text


@pytest.mark.parametrize("what", list(TABLES))
def test_a_parquet_export_from_elasticsearch_reads_back_equal_to_the_index(index, what):
    stream = io.BytesIO()
    write_all(index.scan(SearchQuery(), page_size=1), open_writer("parquet", TABLES[what], stream))
    exported = pq.read_table(io.BytesIO(stream.getvalue())).to_pylist()
    expected = [row for article in index_reads.corpus() for row in TABLES[what].rows(article, None)]
    key = ("id",) if what == "articles" else ("article_id", "text" if what == "quotes" else "name")
    assert sorted(exported, key=lambda r: [str(r[k]) for k in key]) == sorted(expected, key=lambda r: [str(r[k]) for k in key])

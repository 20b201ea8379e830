"""The search page's JSON API and pages through Starlette's test client, over the embedded index."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from pipeline.errors import ServiceUnavailable
from pipeline.index.embedded import EmbeddedIndex
from pipeline.web import create_app
from pipeline.web.app import CONTENT_SECURITY_POLICY
from tests import index_reads


@pytest.fixture
def index_path(tmp_path):
    path = tmp_path / "index.sqlite"
    with EmbeddedIndex(path) as index:
        index.write(index_reads.corpus())
    return path


@pytest.fixture
def client(index_path):
    with TestClient(create_app(lambda: EmbeddedIndex(index_path))) as test_client:
        yield test_client


def test_search_returns_stories_with_snippets_entities_and_quotes(client):
    answer = client.get("/api/search", params={"q": "ceasefire"}).json()
    assert answer["total"] == 1 and answer["query"] == {"q": "ceasefire", "limit": 20, "offset": 0}
    [result] = answer["results"]
    assert result["id"] == "reads/blinken" and result["source"] == "wire" and result["link"] == "https://example.org/blinken"
    assert {"text": "ceasefire", "match": True} in result["snippets"][0]
    assert result["people"] == ["Antony Blinken", "David Cameron"]
    assert [(q["speaker"], q["kind"]) for q in result["quotes"]] == [
        ("Antony Blinken", "direct"), ("Antony Blinken", "direct"), ("David Cameron", "direct"),
    ]
    assert result["story"] == {"id": "reads/blinken", "copies": 1, "others": []}


def test_search_filters_dates_and_pages(client):
    answer = client.get("/api/search", params={"source": "WIRE", "since": "2024-04-29", "limit": 1, "offset": 1}).json()
    assert answer["total"] == 2 and [r["id"] for r in answer["results"]] == ["reads/marches"]
    assert answer["query"] == {"source": "WIRE", "since": "2024-04-29", "limit": 1, "offset": 1}


def test_facets_narrow_with_the_search(client):
    every = client.get("/api/facets").json()["facets"]
    assert every["person"] == [{"value": "Antony Blinken", "count": 2}, {"value": "David Cameron", "count": 1}]
    assert every["language"] == [{"value": "en", "count": 3}, {"value": "fr", "count": 1}]
    narrowed = client.get("/api/facets", params={"q": "harbour", "size": 1}).json()["facets"]
    assert narrowed["speaker"] == [{"value": "Port Authority", "count": 1}] and narrowed["person"] == []


def test_quotes_are_grouped_by_speaker_with_their_articles(client):
    answer = client.get("/api/quotes").json()
    assert answer["quotes"] == 5
    assert [(group["speaker"], len(group["quotes"])) for group in answer["speakers"]] == [
        ("Antony Blinken", 2), ("David Cameron", 1), ("Port Authority", 1), (None, 1),
    ]
    first = answer["speakers"][0]["quotes"][0]
    assert first["text"] == "We are working on a ceasefire every day," and first["article"]["id"] == "reads/blinken"
    body = index_reads.BLINKEN_BODY
    assert body[first["start"]:first["end"]] == first["text"]
    one = client.get("/api/quotes", params={"speaker": "Antony Blinken", "limit": 1}).json()
    assert one["quotes"] == 1 and one["speakers"][0]["speaker"] == "Antony Blinken"


def test_article_by_id_and_its_errors(client):
    article = client.get("/api/article", params={"id": "reads/harbour"}).json()
    assert article["title"] == "Harbour reopens" and article["link"] is None and len(article["quotes"]) == 2
    missing = client.get("/api/article", params={"id": "reads/none"})
    assert missing.status_code == 404 and missing.json() == {"error": "No article has that id."}
    assert client.get("/api/article").status_code == 400


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"q": "x" * 501}, "'q' is longer than 500 characters"),
        ({"limit": "101"}, "'limit' must be between 1 and 100"),
        ({"limit": "0"}, "'limit' must be between 1 and 100"),
        ({"offset": "-1"}, "'offset' must be a whole number"),
        ({"offset": "5001"}, "'offset' must be between 0 and 5000"),
        ({"since": "yesterday"}, "'since' must be a date as YYYY-MM-DD"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "'since' is after 'until'"),
        ({"person": "p" * 301}, "'person' is longer than 300 characters"),
    ],
)
def test_requests_beyond_the_limits_are_refused_with_the_reason(client, params, reason):
    answer = client.get("/api/search", params=params)
    assert answer.status_code == 400 and answer.json() == {"error": reason}
    page = client.get("/", params=params)
    assert page.status_code == 400 and reason.replace("'", "&#39;") in page.text


def test_sizes_of_facets_and_quotes_are_bounded(client):
    assert client.get("/api/facets", params={"size": "101"}).status_code == 400
    assert client.get("/api/quotes", params={"limit": "501"}).status_code == 400


@pytest.mark.parametrize("path", ["/", "/quotes", "/speaker?name=Antony%20Blinken", "/article?id=reads/blinken", "/api/search", "/static/newswire.css"])
def test_read_only_every_route_answers_get_and_head_only(client, path):
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert client.request(method, path).status_code == 405, method


@pytest.mark.parametrize("path", ["/", "/api/search", "/static/newswire.js", "/nowhere", "/api/article?id=nope"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/../../pyproject.toml"])
def test_no_path_leads_outside_the_static_files(client, path):
    answer = client.get(path)
    assert answer.status_code == 404 and "create_app" not in answer.text and "[project]" not in answer.text


def test_on_loopback_other_host_names_are_refused(index_path):
    app = create_app(lambda: EmbeddedIndex(index_path), allowed_hosts=["127.0.0.1", "localhost", "::1"])
    with TestClient(app, base_url="http://127.0.0.1:8080") as local:
        assert local.get("/api/search").status_code == 200
        assert local.get("/api/search", headers={"host": "localhost:8080"}).status_code == 200
        assert local.get("/api/search", headers={"host": "rebound.example:8080"}).status_code == 400


def test_an_unavailable_index_is_a_503_that_keeps_the_reason_in_the_log(caplog):
    class Unreachable(EmbeddedIndex):
        def search(self, query):
            raise ServiceUnavailable("Elasticsearch at http://user:secret@es:9200 is unreachable")

    with TestClient(create_app(lambda: Unreachable(":memory:"))) as down:
        answer = down.get("/api/search")
        page = down.get("/")
    assert answer.status_code == 503 and "secret" not in answer.text and "not available" in answer.json()["error"]
    assert page.status_code == 503 and "secret" not in page.text
    assert "unreachable" in caplog.text


def test_a_failure_in_the_server_is_a_plain_500_with_the_headers(index_path):
    class Broken(EmbeddedIndex):
        def facets(self, query, size=10):
            raise RuntimeError("boom at /secret/path")

    with TestClient(create_app(lambda: Broken(index_path)), raise_server_exceptions=False) as broken:
        answer = broken.get("/")
    assert answer.status_code == 500 and "/secret/path" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

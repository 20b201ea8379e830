"""Search request building and client options for Elasticsearch (no network)."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from pipeline.errors import ServiceError
from pipeline.index.elastic import ElasticIndex, build_search, simple_query_text
from pipeline.search import SearchQuery
from pipeline.settings import ElasticsearchSettings


@pytest.mark.parametrize(
    "text, expected",
    [
        ("gaza ceasefire", "gaza ceasefire"),
        ('"civilian protection" Blinken', '"civilian protection" Blinken'),
        ("Gaza OR Israel", "Gaza | Israel"),
        ("OR Gaza OR", "Gaza"),
        ("a+b -c (d* ~e) | f\\", "a b c d e f"),
        ('unbalanced "quote here', 'unbalanced "quote here"'),
        ("???", ""),
        ("Tel Aviv's", "Tel Aviv s"),
    ],
)
def test_user_text_becomes_a_safe_simple_query(text, expected):
    assert simple_query_text(text) == expected


def test_text_query_boosts_the_title_filters_and_highlights():
    body = build_search(SearchQuery(text="gaza", person="Blinken", place="Tel Aviv", limit=5))
    assert body["size"] == 5
    must = body["query"]["bool"]["must"][0]["simple_query_string"]
    assert must["fields"][0].startswith("title^") and "body" in must["fields"]
    assert must["default_operator"] == "and"
    filters = json.dumps(body["query"]["bool"]["filter"])
    assert '"people.words"' in filters and '"places.words"' in filters and '"Blinken"' in filters
    assert body["highlight"]["pre_tags"] == ["["] and body["highlight"]["post_tags"] == ["]"]
    assert "sort" not in body


def test_empty_text_lists_the_newest_first():
    body = build_search(SearchQuery(speaker="Antony Blinken"))
    assert body["sort"][0] == {"published_at": {"order": "desc", "missing": "_last"}}
    assert "highlight" not in body
    assert body["query"]["bool"]["filter"][0]["bool"]["should"][0]["term"]["speakers"]["case_insensitive"] is True


def test_text_without_words_searches_nothing():
    assert build_search(SearchQuery(text="!!! ---")) is None


def test_client_options_carry_secrets_but_the_index_never_shows_them(caplog):
    settings = ElasticsearchSettings(
        hosts=["https://es.example:9200"], username="elastic", password=SecretStr("s3cret"),
        ca_certs="/etc/ca.pem", request_timeout=12,
    )
    index = ElasticIndex(settings)
    options = index.client_options()
    assert options["basic_auth"] == ("elastic", "s3cret")
    assert options["ca_certs"] == "/etc/ca.pem" and options["request_timeout"] == 12
    assert options["retry_on_timeout"] is True and options["max_retries"] >= 1
    assert "s3cret" not in repr(index)
    keyed = ElasticIndex(ElasticsearchSettings(hosts=["http://x:9200"], api_key=SecretStr("k3y"))).client_options()
    assert keyed["api_key"] == "k3y" and "basic_auth" not in keyed


def test_init_is_cheap_and_open_needs_hosts():
    index = ElasticIndex(ElasticsearchSettings(hosts=None))
    with pytest.raises(ServiceError, match="hosts"):
        index.open()


def test_open_sends_nothing_and_an_unreachable_node_is_one_clear_line(caplog):
    caplog.set_level(logging.DEBUG)
    settings = ElasticsearchSettings(hosts=["http://127.0.0.1:9"], request_timeout=2, password=SecretStr("pw"), username="u")
    from pipeline.errors import ServiceUnavailable

    with ElasticIndex(settings) as index:
        with pytest.raises(ServiceUnavailable) as raised:
            index.count()
    message = str(raised.value)
    assert message == "Elasticsearch at http://127.0.0.1:9 is unreachable: connection refused"
    assert "pw" not in caplog.text

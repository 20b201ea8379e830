import json

import pytest

from pipeline.article import EnrichedArticle, parse_article, parse_enriched
from pipeline.errors import InvalidArticle


def test_valid_article_round_trips_through_json():
    article = parse_article('{"id": "a1", "title": "T", "body": "B", "published_at": "2023-12-07T10:00:00+01:00"}')
    again = parse_article(article.to_json())
    assert again == article
    assert json.loads(article.to_json())["published_at"] == "2023-12-07T10:00:00+01:00"


def test_naive_dates_are_taken_as_utc_and_version_follows_fetch_time():
    article = parse_article({"id": "a", "title": "", "body": "b", "fetched_at": "2024-01-01T00:00:00"})
    assert article.fetched_at.utcoffset().total_seconds() == 0
    assert article.version == 1704067200000


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"title": "t", "body": "b"}', "field 'id': Field required"),
        ('{"id": "x", "title": "t"}', "field 'body': Field required"),
        ('{"id": "  ", "title": "t", "body": "b"}', "field 'id'"),
        ('{"id": "x", "title": 5, "body": "b"}', "field 'title'"),
        ('{"id": "x", "title": "t", "body": "b", "schema_version": 2}', "field 'schema_version'"),
        ('{"id": "x", "title": "t", "body": "b", "authors": "me"}', "field 'authors'"),
        (b'{"id": "\xff"}', "not UTF-8"),
    ],
)
def test_invalid_records_raise_one_clear_reason(raw, reason):
    with pytest.raises(InvalidArticle) as caught:
        parse_article(raw)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_enriched_article_checks_quote_and_entity_shapes():
    good = {"id": "x", "title": "", "body": "b", "quotes": [{"text": "b", "start": 0, "end": 1, "speaker": None}]}
    assert isinstance(parse_enriched(good), EnrichedArticle)
    with pytest.raises(InvalidArticle, match="speaker_label"):
        parse_enriched({**good, "quotes": [{"text": "b", "start": 0, "end": 1, "speaker_label": "DATE"}]})
    with pytest.raises(InvalidArticle, match="mentions"):
        parse_enriched({**good, "entities": [{"name": "A", "label": "PERSON", "mentions": 0}]})


def test_ids_fit_elasticsearch_and_fit_id_keeps_long_ones_stable_and_distinct():
    from pipeline.article import MAX_ID_BYTES, fit_id

    with pytest.raises(InvalidArticle, match="longer than 512 bytes"):
        parse_article({"id": "x" * 513, "title": "", "body": "b"})
    long_a, long_b = "https://example.org/" + "a" * 600, "https://example.org/" + "a" * 599 + "b"
    assert fit_id("short") == "short"
    assert fit_id(long_a) == fit_id(long_a) != fit_id(long_b)
    assert len(fit_id(long_a).encode()) <= MAX_ID_BYTES
    assert parse_article({"id": fit_id("é" * 600), "title": "", "body": "b"})

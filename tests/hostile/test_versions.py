"""Class 4, the time part: a source cannot pin its copy in place with a date in the future, and a JSON
file cannot claim to be another connector. (Ownership of an id, and `sources`, is issue 15's work.)
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pipeline.article as article_module
from pipeline.article import CLOCK_SKEW, Article, EnrichedArticle
from pipeline.index.embedded import EmbeddedIndex
from tests.hostile.harness import Embedded, check_contained

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
FAR = datetime(2999, 1, 1, tzinfo=timezone.utc)


def _at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(article_module, "_now", lambda: moment)


def test_a_future_fetched_at_is_our_clock_and_a_future_published_at_does_not_raise_the_version(monkeypatch):
    _at(monkeypatch, NOW)
    fetched = Article(id="a", title="T", body="B", fetched_at=FAR)
    assert fetched.fetched_at == NOW + CLOCK_SKEW
    published = Article(id="b", title="T", body="B", published_at=FAR)
    assert published.published_at == FAR, "the claimed date is kept as data"
    assert published.version == int((NOW + CLOCK_SKEW).timestamp() * 1000), "but it is not a version past now + skew"
    past = Article(id="c", title="T", body="B", fetched_at=NOW - timedelta(days=1))
    assert past.version == int((NOW - timedelta(days=1)).timestamp() * 1000)


def test_a_far_future_claim_does_not_stick_in_the_index(tmp_path, monkeypatch):
    _at(monkeypatch, NOW)
    claim = EnrichedArticle(id="wire-1", title="Forged", body="Forged text.", published_at=FAR)
    with EmbeddedIndex(tmp_path / "index.sqlite") as index:
        assert [r.status for r in index.write([claim])] == ["indexed"]
        _at(monkeypatch, NOW + timedelta(hours=1))
        update = EnrichedArticle(id="wire-1", title="Real", body="Real text.", fetched_at=NOW + timedelta(hours=1))
        assert [r.status for r in index.write([update])] == ["indexed"], "an hour later the real update wins"
        assert index.get("wire-1").title == "Real"


def test_a_json_file_cannot_claim_another_connector_or_a_future_fetch(tmp_path):
    root = tmp_path / "news"
    root.mkdir()
    claim = {"id": "https://other.example/story", "title": "Claimed", "body": "First version.",
             "source": {"connector": "rss", "name": "agency", "feed": "https://other.example/feed"},
             "fetched_at": "2999-01-01T00:00:00Z", "url": "javascript:alert(1)"}
    (root / "claims.json").write_text(json.dumps(claim), encoding="utf-8")
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])
    before = datetime.now(timezone.utc)
    check_contained(embedded.run(), index=embedded.indexed(), indexed=["https://other.example/story"])
    stored = embedded.indexed()["https://other.example/story"]
    assert stored.source.connector == "files" and stored.source.name == "news" and stored.source.feed == "claims.json"
    assert before <= stored.fetched_at <= datetime.now(timezone.utc), "fetched_at is when the file was read"
    assert stored.url is None, "only an http(s) url is stored"
    (root / "claims.json").write_text(json.dumps({**claim, "body": "Second version."}), encoding="utf-8")
    check_contained(embedded.run())
    assert embedded.indexed()["https://other.example/story"].body == "Second version.", "a later edit replaces it"

from datetime import datetime, timedelta, timezone

import pytest

from pipeline.article import EnrichedArticle, Quote
from pipeline.index.embedded import EmbeddedIndex, fts_query
from pipeline.search import SearchQuery

NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)


def article(article_id, title, body, when=NOW, **lists):
    return EnrichedArticle(id=article_id, title=title, body=body, fetched_at=when, published_at=when, **lists)


@pytest.fixture
def index(tmp_path):
    with EmbeddedIndex(tmp_path / "index.sqlite") as idx:
        idx.write([
            article("a", "Blinken in Washington", "Antony Blinken met David Cameron in Washington.",
                    people=["Antony Blinken", "David Cameron"], places=["Washington"], speakers=["Antony Blinken"],
                    quotes=[Quote(text="We are working", speaker="Antony Blinken", speaker_label="PERSON", start=0, end=3)]),
            article("b", "Harbour reopens", "The harbour in Valletta reopened; Blinken was not there.",
                    when=NOW - timedelta(days=1), places=["Valletta"], organizations=["Port Authority"]),
            article("c", "Markets", "Shares fell sharply on Monday.", when=NOW - timedelta(days=2)),
        ])
        yield idx


def test_full_text_ranks_title_matches_first_and_marks_the_snippet(index):
    hits = index.search(SearchQuery(text="Blinken"))
    assert [h.article.id for h in hits] == ["a", "b"]
    assert hits[0].score > hits[1].score > 0
    assert "[Blinken]" in hits[0].snippets[0]
    assert hits[0].article.quotes[0].speaker == "Antony Blinken"


def test_stemming_phrases_and_or(index):
    assert [h.article.id for h in index.search(SearchQuery(text="reopening harbours"))] == ["b"]
    assert [h.article.id for h in index.search(SearchQuery(text='"fell sharply"'))] == ["c"]
    assert {h.article.id for h in index.search(SearchQuery(text="Valletta OR shares"))} == {"b", "c"}


def test_filters_match_whole_names_or_a_word_run_in_them(index):
    assert [h.article.id for h in index.search(SearchQuery(person="blinken"))] == ["a"]
    assert [h.article.id for h in index.search(SearchQuery(person="Antony Blinken", place="Washington"))] == ["a"]
    assert index.search(SearchQuery(person="Blink")) == []
    assert [h.article.id for h in index.search(SearchQuery(text="Blinken", org="port authority"))] == ["b"]
    assert [h.article.id for h in index.search(SearchQuery(speaker="Antony Blinken"))] == ["a"]


def test_no_text_lists_newest_first_and_limit_applies(index):
    assert [h.article.id for h in index.search(SearchQuery(limit=2))] == ["a", "b"]


@pytest.mark.parametrize("text", ['"unbalanced', "AND OR NOT", "col:umn", "*", "(((", "Blinken's", "NEAR(a b)", "'"])
def test_any_user_text_is_a_valid_query(index, text):
    index.search(SearchQuery(text=text))


def test_rewriting_never_duplicates_and_older_versions_never_win(index):
    newer = article("a", "Blinken in Washington (updated)", "Updated body.", when=NOW + timedelta(hours=1))
    assert [r.status for r in index.write([newer])] == ["indexed"]
    assert [r.status for r in index.write([article("a", "stale", "stale body", when=NOW)])] == ["stale"]
    assert index.count() == 3
    assert index.get("a").title.endswith("(updated)")
    assert index.search(SearchQuery(text="stale")) == []
    assert [h.article.id for h in index.search(SearchQuery(text="Updated"))] == ["a"]
    assert index.search(SearchQuery(person="David Cameron")) == [], "facets follow the newest version"


def test_fts_query_quotes_every_term():
    assert fts_query('Blinken "gap remains" OR Gaza') == '"Blinken" "gap remains" OR "Gaza"'
    assert fts_query("OR") == '"OR"' and fts_query("---") == ""


def test_an_article_the_index_refuses_fails_alone_with_its_reason(index):
    results = index.write([
        article("d", "Fine", "A fine body."),
        article("e", "Broken", "Text with a lone surrogate \ud800 from a bad escape."),
        article("f", "Also fine", "Another body."),
    ])
    assert [(r.article_id, r.status) for r in results] == [("d", "indexed"), ("e", "failed"), ("f", "indexed")]
    assert "UnicodeEncodeError" in results[1].reason and "\n" not in results[1].reason
    assert index.count() == 5 and index.get("e") is None

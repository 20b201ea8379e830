"""The story step around the embedded index: copies grouped, ids kept, merges, the race, collapse, sources.

The copies are the labelled set's (eval/stories): a wire story, its syndicated copies, the
follow-up that reuses two of its paragraphs, and an unrelated twin on the same topic.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.article import EnrichedArticle, Source
from pipeline.index.embedded import EmbeddedIndex
from pipeline.runtime.steps import index_step
from pipeline.runtime.stories import assign_stories, settle_stories
from pipeline.search import SearchQuery
from tests.conftest import REPO

SET = {row["id"]: row for row in map(json.loads, (REPO / "eval" / "stories" / "articles.jsonl").read_text().splitlines())}
T0 = datetime(2024, 5, 3, 6, 0, tzinfo=timezone.utc)
WIRE = "mine-rescue/wire"
COPIES = ["mine-rescue/rewrite-desk", "mine-rescue/broadcaster", "mine-rescue/partner-agency"]


def copy(labelled_id: str, *, article_id: str | None = None, source: str = "wire", minutes: int = 0, **fields) -> EnrichedArticle:
    row = SET[labelled_id]
    when = T0 + timedelta(minutes=minutes)
    return EnrichedArticle(
        id=article_id or f"https://{source}.example/{labelled_id}", title=row["title"], body=row["body"],
        url=article_id or f"https://{source}.example/{labelled_id}", published_at=when, fetched_at=when,
        source=Source(connector="rss", name=source, feed=f"https://{source}.example/feed.xml"), **fields,
    )


@pytest.fixture
def index(tmp_path):
    with EmbeddedIndex(tmp_path / "index.sqlite") as opened:
        yield opened


def stories_of(index: EmbeddedIndex) -> dict[str, str]:
    return dict(index.db.execute("SELECT id, story_id FROM articles").fetchall())


def test_copies_in_one_batch_are_one_story_with_its_count(index):
    batch = [copy(WIRE, source="ap"), *(copy(c, source=f"outlet{n}") for n, c in enumerate(COPIES))]
    assert index_step(index, batch) == (4, [])
    stories = stories_of(index)
    assert len(set(stories.values())) == 1
    root = next(iter(stories.values()))
    assert index.get(root).copies == 4
    assert all(index.get(i).copies is None for i in stories if i != root), "only the first copy keeps the count"


def test_the_story_is_the_copy_seen_first_and_keeps_its_id_as_copies_arrive(index):
    # The broadcaster's copy is seen first although the wire was published earlier: the story id is
    # the first copy seen, and it does not change when the earlier-published wire arrives.
    first = copy(COPIES[1], source="broadcaster", minutes=30)
    index_step(index, [first])
    index_step(index, [copy(WIRE, source="ap", minutes=0)])
    index_step(index, [copy(COPIES[0], source="desk", minutes=45)])
    assert set(stories_of(index).values()) == {first.id}
    assert index.get(first.id).copies == 3


def test_a_follow_up_and_a_same_topic_twin_are_stories_of_their_own(index):
    index_step(index, [copy(WIRE, source="ap")])
    index_step(index, [copy("mine-rescue/followup", source="ap"), copy("mine-rescue/twin", source="ap")])
    assert len(set(stories_of(index).values())) == 3


def test_an_article_that_is_a_copy_of_two_stories_merges_them_into_the_one_seen_first(index):
    body = SET[WIRE]["body"].split("\n\n")
    half = len(body) // 2
    first_half = copy(WIRE, article_id="https://a.example/first-half")
    first_half = first_half.model_copy(update={"body": "\n\n".join(body[:half])})
    second_half = copy(WIRE, article_id="https://b.example/second-half").model_copy(update={"body": "\n\n".join(body[half:])})
    index_step(index, [first_half])
    index_step(index, [second_half])
    assert len(set(stories_of(index).values())) == 2
    index_step(index, [copy(WIRE, source="ap")])  # the whole story: a copy of both halves
    assert set(stories_of(index).values()) == {first_half.id}
    assert index.get(first_half.id).copies == 3 and index.get(second_half.id).copies is None


def test_a_redelivered_batch_changes_nothing(index):
    batch = [copy(WIRE, source="ap"), copy(COPIES[0], source="desk")]
    index_step(index, batch)
    before = (stories_of(index), index.get(batch[0].id).copies)
    assert index_step(index, batch) == (2, [])
    assert (stories_of(index), index.get(batch[0].id).copies) == before


def test_two_writers_that_each_start_a_story_converge_on_the_one_seen_first(tmp_path):
    """The race in slow motion: both look up before either writes, both write, both settle.

    An embedded index has one writer in practice; two connections to one file stand in for two
    Elasticsearch sinks here (tests/integration/test_story_race.py runs the real ones).
    """
    path = tmp_path / "index.sqlite"
    with EmbeddedIndex(path) as one, EmbeddedIndex(path) as two:
        one.stories.single_writer = two.stories.single_writer = False
        a, b = copy(WIRE, source="ap"), copy(COPIES[2], source="partner")
        batch_a, batch_b = assign_stories(one, [a]), assign_stories(two, [b])
        assert batch_a.articles[0].story_id == a.id and batch_b.articles[0].story_id == b.id, "neither saw the other"
        results_a, results_b = one.write(batch_a.articles, marks=batch_a.marks), two.write(batch_b.articles, marks=batch_b.marks)
        settle_stories(two, batch_b, results_b)
        settle_stories(one, batch_a, results_a)
        stories = stories_of(one)
        first = min((batch_a.marks[0].seen_at, a.id), (batch_b.marks[0].seen_at, b.id))[1]
        assert set(stories.values()) == {first}
        assert one.get(first).copies == 2


def test_short_bodies_are_stories_of_their_own(index):
    brief = copy(WIRE, source="ap").model_copy(update={"body": "Miners were rescued on Tuesday."})
    index_step(index, [brief, brief.model_copy(update={"id": "https://other.example/brief"})])
    assert stories_of(index) == {brief.id: brief.id, "https://other.example/brief": "https://other.example/brief"}


# -- sources and ownership --------------------------------------------------------------------------


def test_three_feeds_listing_one_article_make_one_document_with_three_sources(index):
    article = copy(WIRE, article_id="https://news.example/mine-rescue")
    results = [index.write([article.model_copy(update={"source": Source(connector="rss", name=name, feed=f"https://news.example/{name}.xml")})])
               for name in ("top", "world", "politics")]
    assert [r[0].status for r in results] == ["indexed", "joined", "joined"]
    stored = index.get(article.id)
    assert [s.name for s in stored.sources] == ["top", "world", "politics"]
    assert stored.source.name == "top", "`source` stays the first way in"
    assert index.write([article.model_copy(update={"source": Source(connector="rss", name="world")})])[0].status == "joined"
    assert len(index.get(article.id).sources) == 3, "listed once"
    assert index.count() == 1


def test_only_the_owning_source_replaces_an_article(index):
    owner = copy(WIRE, article_id="https://news.example/a", source="owner")
    index.write([owner])
    later = owner.fetched_at + timedelta(days=365)
    claim = owner.model_copy(update={"title": "Forged", "body": "Replaced.", "fetched_at": later,
                                      "source": Source(connector="files", name="uploads", feed="x.json")})
    assert index.write([claim])[0].status == "joined"
    stored = index.get(owner.id)
    assert stored.title == owner.title and stored.body == owner.body
    assert index.search(SearchQuery(text="Forged")) == []
    update = owner.model_copy(update={"title": "Updated by its own feed", "fetched_at": owner.fetched_at + timedelta(hours=1)})
    assert index.write([update])[0].status == "indexed"
    stored = index.get(owner.id)
    assert stored.title == "Updated by its own feed"
    assert [s.name for s in stored.sources] == ["owner", "uploads"], "a new version keeps every source"


def assert_an_older_id_is_kept(index) -> None:
    """An article indexed under an older id (a raw GUID) that arrives under its canonical id updates that document.

    Shared with tests/integration/test_elastic_stories.py: both indexes behave the same.
    """
    legacy = copy(WIRE, article_id="https://news.example/feed.xml#1042").model_copy(
        update={"url": "http://www.news.example/mine-rescue?utm_source=rss"})
    index.write([legacy])
    index.refresh()
    again = copy(WIRE, article_id="https://news.example/mine-rescue").model_copy(
        update={"url": "https://news.example/mine-rescue", "fetched_at": legacy.fetched_at + timedelta(hours=1)})
    assert index_step(index, [again]) == (1, [])
    index.refresh()
    assert index.count() == 1
    assert index.get(legacy.id).fetched_at == again.fetched_at


def test_an_article_indexed_under_an_older_id_is_found_by_its_canonical_url(index):
    assert_an_older_id_is_kept(index)


# -- search: stories, not copies --------------------------------------------------------------------


def test_search_shows_one_hit_per_story_with_its_copies_and_outlets_unless_every_copy_is_asked_for(index):
    index_step(index, [copy(WIRE, source="ap")])
    index_step(index, [copy(c, source=f"outlet{n}", minutes=n + 1) for n, c in enumerate(COPIES)])
    index_step(index, [copy("mine-rescue/followup", source="ap", minutes=90)])
    hits = index.search(SearchQuery(text="mine"))
    assert len(hits) == 2
    story = next(hit for hit in hits if hit.story_copies == 4)
    assert story.story_outlets == ["ap.example", "outlet0.example", "outlet1.example", "outlet2.example"]
    assert {hit.article.story_id for hit in hits} == {f"https://ap.example/{WIRE}", "https://ap.example/mine-rescue/followup"}
    every = index.search(SearchQuery(text="mine", copies=True))
    assert len(every) == 5
    assert all(hit.to_dict()["story_id"] == hit.article.story_id for hit in every)
    assert len(index.search(SearchQuery())) == 2 and len(index.search(SearchQuery(copies=True))) == 5


def test_search_filters_by_language(index):
    french = copy(WIRE, article_id="https://fr.example/mine", language="fr")
    index_step(index, [french, copy("mine-rescue/twin", source="ap", language="en")])
    assert [h.article.id for h in index.search(SearchQuery(language="fr"))] == [french.id]
    assert len(index.search(SearchQuery(language="en"))) == 1


# -- a file from an older newswire -------------------------------------------------------------------


def test_an_index_file_from_before_stories_is_upgraded_when_opened(tmp_path):
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE articles (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
                               published_at TEXT, document TEXT NOT NULL);
        CREATE VIRTUAL TABLE articles_text USING fts5(title, body, tokenize = 'porter unicode61 remove_diacritics 2');
    """)
    old = copy(WIRE, article_id="urn:uuid:1042").model_copy(update={"url": "https://news.example/mine-rescue"})
    db.execute("INSERT INTO articles (id, version, published_at, document) VALUES (?, ?, ?, ?)",
               (old.id, old.version, old.published_at.isoformat(), old.to_json()))
    db.execute("INSERT INTO articles_text (rowid, title, body) VALUES (1, ?, ?)", (old.title, old.body))
    db.commit()
    db.close()
    with EmbeddedIndex(path) as index:
        stored = index.get(old.id)
        assert stored.story_id == old.id and stored.copies == 1
        assert [s.name for s in stored.sources] == ["wire"]
        [found] = index.stories.lookup([copy(WIRE, article_id="https://news.example/mine-rescue")])
        assert found is not None and found.id == old.id
        assert [h.article.id for h in index.search(SearchQuery(text="mine"))] == [old.id]

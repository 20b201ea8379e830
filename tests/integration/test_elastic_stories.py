"""Stories and sources in the real Elasticsearch node: the story step, ownership, collapse, the race, the upgrade.

Each test works behind its own alias; the copies are the labelled set's (eval/stories).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from pipeline.article import Source
from pipeline.index.elastic import ElasticIndex
from pipeline.runtime.steps import index_step
from pipeline.runtime.stories import assign_stories, settle_stories
from pipeline.search import SearchQuery
from tests.integration.support import remove_index
from tests.integration.test_elastic_index import index, settings  # noqa: F401 (the fixtures: an alias of this test's own)
from tests.unit.test_story_step import COPIES, WIRE, assert_an_older_id_is_kept, copy

pytestmark = pytest.mark.integration


def stories_of(index: ElasticIndex) -> dict[str, str]:
    index.refresh()
    hits = index.client.search(index=index.alias, size=1000, source=["story_id"], query={"match_all": {}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"]["story_id"] for hit in hits}


def test_copies_arriving_batch_by_batch_are_one_story_named_after_the_first_seen(index):
    first = copy(COPIES[1], source="broadcaster", minutes=30)
    index_step(index, [first])
    index_step(index, [copy(WIRE, source="ap"), copy(COPIES[0], source="desk", minutes=45)])
    index_step(index, [copy(COPIES[2], source="partner", minutes=50), copy("mine-rescue/followup", source="ap", minutes=90)])
    stories = stories_of(index)
    assert len(stories) == 5
    assert set(stories.values()) == {first.id, "https://ap.example/mine-rescue/followup"}
    assert index.get(first.id).copies == 4
    assert index.get("https://ap.example/mine-rescue/followup").copies == 1


def test_two_sinks_that_each_start_a_story_converge_on_the_one_seen_first(settings, index):
    """The race in slow motion on the real node: both look up before either writes."""
    with ElasticIndex(settings) as other:
        a, b = copy(WIRE, source="ap"), copy(COPIES[2], source="partner")
        batch_a, batch_b = assign_stories(index, [a]), assign_stories(other, [b])
        assert batch_a.articles[0].story_id == a.id and batch_b.articles[0].story_id == b.id, "neither saw the other"
        results_a = index.write(batch_a.articles, marks=batch_a.marks)
        results_b = other.write(batch_b.articles, marks=batch_b.marks)
        settle_stories(other, batch_b, results_b)
        settle_stories(index, batch_a, results_a)
    first = min((batch_a.marks[0].seen_at, a.id), (batch_b.marks[0].seen_at, b.id))[1]
    assert set(stories_of(index).values()) == {first}
    assert index.get(first).copies == 2


def test_an_article_that_is_a_copy_of_two_stories_merges_them_client_side(index):
    body = copy(WIRE).body.split("\n\n")
    half = len(body) // 2
    first_half = copy(WIRE, article_id="https://a.example/first").model_copy(update={"body": "\n\n".join(body[:half])})
    second_half = copy(WIRE, article_id="https://b.example/second").model_copy(update={"body": "\n\n".join(body[half:])})
    index_step(index, [first_half])
    index_step(index, [second_half])
    assert len(set(stories_of(index).values())) == 2
    index_step(index, [copy(WIRE, source="ap")])
    assert set(stories_of(index).values()) == {first_half.id}
    assert index.get(first_half.id).copies == 3 and index.get(second_half.id).copies is None
    assert index_step(index, [copy(WIRE, source="ap")]) == (1, []), "a re-delivery changes nothing"
    assert set(stories_of(index).values()) == {first_half.id} and index.get(first_half.id).copies == 3


def test_three_feeds_make_one_document_and_only_the_owner_replaces_it(index):
    article = copy(WIRE, article_id="https://news.example/mine-rescue")
    for name in ("top", "world", "politics"):
        index.write([article.model_copy(update={"source": Source(connector="rss", name=name)})])
    forged = article.model_copy(update={"title": "Forged", "fetched_at": article.fetched_at + timedelta(days=3650),
                                         "source": Source(connector="files", name="uploads", feed="claim.json")})
    assert [r.status for r in index.write([forged])] == ["joined"]
    stored = index.get(article.id)
    assert stored.title == article.title and stored.source.name == "top"
    assert [s.name for s in stored.sources] == ["top", "world", "politics", "uploads"]
    newer = article.model_copy(update={"title": "Updated", "fetched_at": article.fetched_at + timedelta(hours=1),
                                        "source": Source(connector="rss", name="top")})
    assert [r.status for r in index.write([newer])] == ["indexed"]
    stored = index.get(article.id)
    assert stored.title == "Updated" and len(stored.sources) == 4
    index.refresh()
    assert index.count() == 1


def test_one_batch_with_the_same_article_from_three_feeds(index):
    """A sink batch can hold the same id from several feeds (one partition): the first owns it, the others join."""
    article = copy(WIRE, article_id="https://news.example/mine-rescue")
    batch = [article.model_copy(update={"source": Source(connector="rss", name=n)}) for n in ("world", "top", "politics")]
    assert index_step(index, batch) == (3, [])
    stored = index.get(article.id)
    assert stored.source.name == "world" and [s.name for s in stored.sources] == ["world", "top", "politics"]


def test_an_article_indexed_under_an_older_id_is_found_by_its_canonical_url(index):
    assert_an_older_id_is_kept(index)


def test_search_collapses_copies_into_stories(index):
    index_step(index, [copy(WIRE, source="ap")])
    index_step(index, [copy(c, source=f"outlet{n}", minutes=n + 1) for n, c in enumerate(COPIES)])
    index_step(index, [copy("mine-rescue/followup", source="ap", minutes=90, language="en")])
    index.refresh()
    hits = index.search(SearchQuery(text="miners"))
    assert len(hits) == 2
    story = next(hit for hit in hits if hit.story_copies == 4)
    assert story.story_outlets == ["ap.example", "outlet0.example", "outlet1.example", "outlet2.example"]
    assert len(index.search(SearchQuery(text="miners", copies=True))) == 5
    assert len(index.search(SearchQuery())) == 2 and len(index.search(SearchQuery(copies=True))) == 5
    assert [h.article.id for h in index.search(SearchQuery(language="en", copies=True))] == ["https://ap.example/mine-rescue/followup"]


def test_setup_upgrades_documents_of_the_previous_mapping(settings):
    """Documents indexed before story identity get their own story and their canonical URL on the way to v2."""
    with ElasticIndex(settings) as current:
        template = current.template
    new_fields = {"sources", "canonical_url", "outlet", "seen_at", "story_id", "story_seen_at", "copies", "story_bands", "story_fingerprint"}
    older = dataclasses.replace(template, version=template.version - 1, mappings={
        **template.mappings, "properties": {k: v for k, v in template.mappings["properties"].items() if k not in new_fields}})
    old = copy(WIRE, article_id="urn:uuid:1042").model_copy(update={"url": "https://news.example/mine-rescue"})
    try:
        with ElasticIndex(settings, template=older) as before:
            before.setup()
            document = {k: v for k, v in old.to_dict().items() if k not in new_fields}  # as an older newswire wrote it
            before.client.index(index=settings.index, id=old.id, document=document, version=old.version,
                                version_type="external", refresh=True)
        with ElasticIndex(settings) as upgraded:
            lines = upgraded.setup()
            assert any("copied 1 documents" in line for line in lines), lines
            stored = upgraded.get(old.id)
            assert stored.story_id == old.id and stored.copies == 1 and [s.name for s in stored.sources] == ["wire"]
            again = copy(WIRE, article_id="https://news.example/mine-rescue").model_copy(
                update={"fetched_at": old.fetched_at + timedelta(hours=1)})
            assert index_step(upgraded, [again]) == (1, [])
            upgraded.refresh()
            assert upgraded.count() == 1 and upgraded.get(old.id).fetched_at == again.fetched_at
    finally:
        remove_index(settings)

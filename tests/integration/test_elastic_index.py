"""ElasticIndex against the real Elasticsearch node of scripts/services: setup, writes, search.

Each test works behind its own alias (`unique_name`) and removes its indices afterwards.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.article import EnrichedArticle, Entity, Quote
from pipeline.errors import ServiceError, ServiceUnavailable
from pipeline.index.elastic import ElasticIndex
from pipeline.index.elastic_setup import setup_index
from pipeline.search import SearchQuery
from pipeline.settings import ElasticsearchSettings
from tests.integration.support import HOLD_WRITES, remove_index, running_tasks, wait_for
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_8b8c846030eca38d.txt"
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def settings(es_hosts, unique_name) -> ElasticsearchSettings:
    return ElasticsearchSettings(hosts=[es_hosts], index=f"newswire-test-{unique_name}", request_timeout=20)


@pytest.fixture
def index(settings):
    with ElasticIndex(settings) as opened:
        opened.setup()
        yield opened
    _cleanup(settings)


def _cleanup(settings: ElasticsearchSettings) -> None:
    remove_index(settings)


def make_article(article_id: str, title: str = "A title", body: str = "A body.", fetched: datetime = T0, **extra) -> EnrichedArticle:
    return EnrichedArticle(id=article_id, title=title, body=body, fetched_at=fetched, **extra)


def seed_article() -> EnrichedArticle:
    """The seed article, enriched the way the gold file describes it."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    title, body = lines[0].strip(), "\n".join(lines[1:]).strip()
    quote = "it remains imperative that Israel put a premium on civilian protection"
    start = body.index(quote)
    people = ["Antony Blinken", "David Cameron", "Kamala Harris", "Lloyd Austin", "Netanyahu"]
    places = ["Israel", "Gaza", "Tel Aviv", "Washington", "Khan Younis"]
    return EnrichedArticle(
        id="seeds/000_8b8c846030eca38d.txt",
        title=title,
        body=body,
        published_at=datetime(2023, 12, 7, tzinfo=timezone.utc),
        fetched_at=T0,
        language="en",
        source={"connector": "files", "name": "seeds", "feed": "seeds/"},
        entities=[Entity(name=n, label="PERSON", mentions=1, aliases=[n.split()[-1]]) for n in people]
        + [Entity(name="Hamas", label="ORG", mentions=1)]
        + [Entity(name=n, label="GPE", mentions=1) for n in places],
        quotes=[Quote(text=quote, speaker="Antony Blinken", speaker_label="PERSON", start=start, end=start + len(quote))],
        people=people,
        organizations=["Hamas"],
        places=places,
        speakers=["Antony Blinken"],
    )


# -- setup -------------------------------------------------------------------------------------


def test_setup_is_idempotent(settings, index):
    again = index.setup()
    assert all("up to date" in line for line in again), again
    client = index.client
    aliases = client.indices.get_alias(name=settings.index).body
    assert list(aliases) == [f"{settings.index}-v{index.template.version}"]
    assert aliases[f"{settings.index}-v{index.template.version}"]["aliases"][settings.index]["is_write_index"] is True
    template = client.indices.get_index_template(name=settings.index).body["index_templates"][0]["index_template"]
    assert template["index_patterns"] == [f"{settings.index}-*"]


def test_a_new_mapping_version_moves_the_documents_and_the_alias(settings, index):
    articles = [make_article(f"a{n}", title=f"Ceasefire talks {n}", fetched=T0 + timedelta(minutes=n)) for n in range(3)]
    assert [r.status for r in index.write(articles)] == ["indexed"] * 3
    v1 = index.template
    mappings = v1.mappings
    changed = {**mappings, "properties": {**mappings["properties"], "language": {"type": "keyword", "ignore_above": 32}}}
    v2 = dataclasses.replace(v1, version=v1.version + 1, mappings=changed)

    with ElasticIndex(settings, template=v2) as upgraded:
        lines = upgraded.setup()
        assert any(f"copied 3 documents from {settings.index}-v{v1.version}" in line for line in lines), lines
        assert any(f"now points at {settings.index}-v{v2.version}" in line for line in lines), lines
        upgraded.refresh()
        assert upgraded.count() == 3
        assert upgraded.get("a2").title == "Ceasefire talks 2"
        # external versions came along: a replay of an older record is still stale
        assert upgraded.write([make_article("a2", title="older", fetched=T0)])[0].status == "stale"
        assert all("up to date" in line for line in upgraded.setup())
        # only the new index is behind the alias, and it is the write index
        assert list(upgraded.client.indices.get_alias(name=settings.index).body) == [f"{settings.index}-v{v2.version}"]


def test_writes_during_a_migration_all_end_up_behind_the_alias(settings, index):
    """Writers see the old index's write block as retriable, back off, and land in the new index."""
    index.write([make_article(f"before{n}") for n in range(50)])
    v2 = dataclasses.replace(index.template, version=index.template.version + 1)
    written: list[str] = []
    done = threading.Event()

    def keep_writing() -> None:
        with ElasticIndex(settings) as writer:
            batch = 0
            while not done.is_set() or batch < 3:
                articles = [make_article(f"during{batch}-{n}") for n in range(10)]
                results = writer.write(articles, stop=threading.Event())
                assert all(r.status == "indexed" for r in results), results
                written.extend(r.article_id for r in results)
                batch += 1

    thread = threading.Thread(target=keep_writing)
    thread.start()
    time.sleep(0.3)
    with ElasticIndex(settings, template=v2) as upgraded:
        upgraded.setup()
    done.set()
    thread.join(60)
    assert not thread.is_alive()
    index.refresh()
    assert index.count() == 50 + len(written)
    assert list(index.client.indices.get_alias(name=settings.index).body) == [f"{settings.index}-v{v2.version}"]



def test_a_write_in_flight_when_the_old_index_is_blocked_is_part_of_the_copy(settings, index):
    """The interleaving that lost acknowledged writes, forced: a bulk write has passed every block check on
    the old index and is still running there when the move blocks that index; it finishes only after the
    copy has taken its view of the old index (or, when the block waits for writes in flight, first).
    Its articles must be behind the alias afterwards, as the writer was told they are indexed."""
    client = index.client
    old = f"{settings.index}-v{index.template.version}"
    v2 = dataclasses.replace(index.template, version=index.template.version + 1)
    index.write([make_article(f"before{n}") for n in range(50)])
    client.indices.put_settings(index=old, settings={HOLD_WRITES: True})
    held = [make_article(f"in-flight{n}") for n in range(10)]
    results: list = []
    writer = threading.Thread(target=lambda: results.extend(index.write(held, stop=threading.Event())))
    writer.start()
    copy_started = threading.Event()
    try:
        wait_for(lambda: any(f"index[{old}]" in d for d in running_tasks(client, "indices:data/write/bulk[s][p]")),
                 30, "the bulk write to be running on the old index's primary shard", interval=0.05)

        def release_the_write() -> None:
            # Old code: once the copy's scan has its view of the old index. A block that waits for writes
            # in flight (the add-index-block API) never gets there while the write is held: release it then.
            wait_for(lambda: copy_started.is_set() or running_tasks(client, "indices:admin/block/add*"),
                     60, "the copy to start or the block to wait for the write", interval=0.05)
            client.indices.put_settings(index=old, settings={HOLD_WRITES: False})

        releaser = threading.Thread(target=release_the_write)
        releaser.start()
        setup_index(client, settings.index, v2, on_step=lambda step, source: step == "copying" and copy_started.set())
        releaser.join(60)
        writer.join(60)
    finally:
        client.indices.put_settings(index=old, settings={HOLD_WRITES: False})
    assert not writer.is_alive()
    assert [r.status for r in results] == ["indexed"] * 10  # acknowledged ...
    index.refresh()
    behind_alias = sorted(hit["_id"] for hit in client.search(index=settings.index, size=100, source=False)["hits"]["hits"])
    assert behind_alias == sorted([f"before{n}" for n in range(50)] + [a.id for a in held])  # ... and there
    assert list(client.indices.get_alias(name=settings.index).body) == [f"{settings.index}-v{v2.version}"]


def test_a_migration_that_does_not_fit_leaves_the_alias_where_it_was(settings, index):
    index.write([make_article("a1", language="en")])
    v1 = index.template
    broken = {**v1.mappings, "properties": {**v1.mappings["properties"], "language": {"type": "integer"}}}
    v2 = dataclasses.replace(v1, version=v1.version + 1, mappings=broken)
    with ElasticIndex(settings, template=v2) as upgraded:
        with pytest.raises(ServiceError, match="does not fit the new mapping"):
            upgraded.setup()
    assert list(index.client.indices.get_alias(name=settings.index).body) == [f"{settings.index}-v{v1.version}"]
    # writes to the old index are unblocked again
    assert index.write([make_article("a2")])[0].status == "indexed"


def test_setup_adopts_an_index_that_squats_the_alias_name(settings, es_hosts):
    """An index auto-created under the alias name (a write before setup) is copied and replaced by the alias."""
    with Elasticsearch([es_hosts]) as client:
        client.index(index=settings.index, id="early", document=make_article("early").to_dict(), refresh=True)
    try:
        with ElasticIndex(settings) as index:
            lines = index.setup()
            assert any(f"copied 1 documents from {settings.index} " in line for line in lines), lines
            assert index.get("early").id == "early"
            assert list(index.client.indices.get_alias(name=settings.index).body) == [f"{settings.index}-v{index.template.version}"]
    finally:
        _cleanup(settings)


# -- writes ------------------------------------------------------------------------------------


def test_writing_twice_leaves_one_document_per_id(index):
    batch = [make_article("one"), make_article("two"), make_article("one")]
    assert [r.status for r in index.write(batch)] == ["indexed", "indexed", "indexed"]
    assert [r.status for r in index.write(batch)] == ["indexed", "indexed", "indexed"]
    index.refresh()
    assert index.count() == 2


def test_an_older_version_never_overwrites_a_newer_one(index):
    newer = make_article("story", title="Updated headline", fetched=T0 + timedelta(hours=1))
    older = make_article("story", title="First headline", fetched=T0)
    assert index.write([newer])[0].status == "indexed"
    result = index.write([older])[0]
    assert result.status == "stale" and result.ok
    assert index.get("story").title == "Updated headline"


def test_a_document_that_does_not_fit_the_mapping_fails_and_the_rest_are_indexed(index):
    good = make_article("good", body="Talks resumed on Monday.")
    bad = make_article("bad", body="x", quotes=[Quote(text="four words of quote", start=2**40, end=2**40 + 19)])
    results = index.write([good, bad, make_article("also-good")])
    assert [r.status for r in results] == ["indexed", "failed", "indexed"]
    assert "quotes.start" in results[1].reason or "out of range" in results[1].reason, results[1].reason
    index.refresh()
    assert index.count() == 2 and index.get("bad") is None


# -- search ------------------------------------------------------------------------------------


def test_write_and_search_round_trip_with_filters_and_highlights(index):
    seed = seed_article()
    other = make_article(
        "other", title="Markets rally", body="Stocks rose in Washington trading as investors cheered.",
        published_at=datetime(2024, 2, 1, tzinfo=timezone.utc), people=["Janet Yellen"], places=["Washington"],
    )
    assert [r.status for r in index.write([seed, other])] == ["indexed", "indexed"]
    index.refresh()

    hits = index.search(SearchQuery(text="civilian protection"))
    assert [h.article.id for h in hits] == [seed.id]
    # The whole EnrichedArticle comes back from _source, with what the index keeps: its story, its sources.
    found = hits[0].article
    assert found.story_id == seed.id and found.copies == 1 and found.sources == [seed.source]
    assert found.model_copy(update={"story_id": None, "copies": None, "sources": []}) == seed
    assert hits[0].score > 0
    assert any("[civilian]" in s or "[civilians]" in s for s in hits[0].snippets), hits[0].snippets

    def ids(**filters) -> list[str]:
        return [h.article.id for h in index.search(SearchQuery(**filters))]

    assert ids(person="Blinken") == [seed.id]  # a word run inside "Antony Blinken"
    assert ids(person="antony blinken") == [seed.id]
    assert ids(person="Blink") == []  # not a whole word
    assert ids(place="Tel Aviv") == [seed.id]
    assert ids(place="Washington") == ["other", seed.id]  # newest first without text
    assert ids(speaker="Antony Blinken") == [seed.id]
    assert ids(org="hamas") == [seed.id]
    assert ids(text="Washington", person="Yellen") == ["other"]
    assert ids(text="Gaza OR stocks") and set(ids(text="Gaza OR stocks")) == {seed.id, "other"}
    assert ids(text='"premium on civilian protection"', speaker="Blinken") == [seed.id]
    assert ids(limit=1) == ["other"]


def test_english_stemming_matches_other_forms(index):
    index.write([make_article("border", title="Crossing news", body="The Rafah crossing was reopened on Friday.")])
    index.refresh()
    hits = index.search(SearchQuery(text="reopening crossings"))
    assert [h.article.id for h in hits] == ["border"]
    assert "[reopened]" in hits[0].snippets[0]


@pytest.mark.parametrize("text", ['"unbalanced', "AND OR NOT", "foo:bar~2 (baz* -qux) | \\", "title:[x TO y]", "/regex/", "???"])
def test_user_syntax_never_raises(index, text):
    index.write([make_article("x", body="foo bar baz")])
    index.refresh()
    assert isinstance(index.search(SearchQuery(text=text)), list)


# -- an unreachable node -----------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_write_keeps_retrying_while_the_node_is_unreachable_and_loses_nothing(settings, index, es_hosts):
    host, _, port = es_hosts.rpartition("//")[2].partition(":")
    proxy = TcpProxy(host, int(port)).start()
    proxy.outage()  # the node is away until the timer brings it back
    through_proxy = settings.model_copy(update={"hosts": [proxy.url], "request_timeout": 5})
    articles = [make_article(f"r{n}") for n in range(20)]
    threading.Timer(2.0, proxy.restore).start()
    started = time.monotonic()
    try:
        with ElasticIndex(through_proxy) as away:
            results = away.write(articles, stop=threading.Event())
    finally:
        proxy.close()
    assert time.monotonic() - started >= 2.0
    assert [r.status for r in results] == ["indexed"] * 20
    index.refresh()
    assert index.count() == 20


def test_stop_ends_the_retries_with_service_unavailable(settings):
    unreachable = settings.model_copy(update={"hosts": [f"http://127.0.0.1:{_closed_port()}"]})
    stop = threading.Event()
    threading.Timer(1.5, stop.set).start()
    started = time.monotonic()
    with ElasticIndex(unreachable) as away:
        with pytest.raises(ServiceUnavailable, match="not yet indexed.*connection refused"):
            away.write([make_article("lost?")], stop=stop)
    assert time.monotonic() - started < 10


def test_an_unreachable_node_is_one_clear_line(settings):
    port = _closed_port()
    unreachable = settings.model_copy(update={"hosts": [f"http://127.0.0.1:{port}"]})
    with ElasticIndex(unreachable) as away:
        for call in (away.setup, away.count, lambda: away.search(SearchQuery(text="x"))):
            with pytest.raises(ServiceUnavailable) as raised:
                call()
            assert str(raised.value) == f"Elasticsearch at http://127.0.0.1:{port} is unreachable: connection refused"


def test_search_before_setup_says_what_to_do(settings):
    with ElasticIndex(settings) as fresh:
        with pytest.raises(ServiceError, match="newswire setup"):
            fresh.search(SearchQuery(text="x"))
        with pytest.raises(ServiceError, match="newswire setup"):
            fresh.write([make_article("a")])

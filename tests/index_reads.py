"""The reads of the Index contract, asserted the same way on both indexes.

tests/unit/test_index_reads.py runs these on the embedded index and
tests/integration/test_elastic_reads.py on the real Elasticsearch node: same articles, same
answers (counts, facets, filters, pages, scans, quotes).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from pipeline.article import EnrichedArticle, Entity, Quote
from pipeline.index import Index
from pipeline.search import FacetCount, SearchQuery


def _when(day: int) -> datetime:
    return datetime(2024, 4, day, 12, 0, tzinfo=timezone.utc)


def _quote(body: str, text: str, speaker: str | None, label: str | None = "PERSON") -> Quote:
    start = body.index(text)
    return Quote(text=text, speaker=speaker, speaker_label=label if speaker else None, start=start, end=start + len(text))


BLINKEN_BODY = (
    'Antony Blinken met David Cameron in Washington. "We are working on a ceasefire every day," Blinken said. '
    '"The gap between intent and results remains," he added. Cameron said: "Britain stands ready to help now."'
)
HARBOUR_BODY = (
    'The harbour in Valletta reopened on Monday. "Ships can dock again from tomorrow morning," the Port Authority said. '
    '"Nobody told us anything at all," one fisherman complained.'
)
MARKETS_BODY = "Les actions ont chuté lundi à Paris, et Blinken n'y était pour rien."
LATE_BODY = "Antony Blinken arrived late for the summit in Brussels."


def corpus() -> list[EnrichedArticle]:
    """Four articles: two sources (one in two cases of spelling), two languages, one dated only by its fetch."""
    blinken = EnrichedArticle(
        id="reads/blinken", title="Blinken in Washington", body=BLINKEN_BODY, url="https://example.org/blinken",
        published_at=datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc), fetched_at=_when(30), language="en",
        source={"connector": "rss", "name": "wire", "feed": "https://example.org/feed"},
        entities=[
            Entity(name="Antony Blinken", label="PERSON", mentions=2, aliases=["Blinken"]),
            Entity(name="David Cameron", label="PERSON", mentions=2, aliases=["Cameron"]),
            Entity(name="Washington", label="GPE", mentions=1),
        ],
        quotes=[
            _quote(BLINKEN_BODY, "We are working on a ceasefire every day,", "Antony Blinken"),
            _quote(BLINKEN_BODY, "The gap between intent and results remains,", "Antony Blinken"),
            _quote(BLINKEN_BODY, "Britain stands ready to help now.", "David Cameron"),
        ],
        people=["Antony Blinken", "David Cameron"], places=["Washington"], speakers=["Antony Blinken", "David Cameron"],
    )
    harbour = EnrichedArticle(
        id="reads/harbour", title="Harbour reopens", body=HARBOUR_BODY, published_at=_when(30), fetched_at=_when(30),
        language="en", source={"connector": "files", "name": "harbour-news"},
        entities=[Entity(name="Valletta", label="GPE", mentions=1), Entity(name="Port Authority", label="ORG", mentions=1)],
        quotes=[
            _quote(HARBOUR_BODY, "Ships can dock again from tomorrow morning,", "Port Authority", "ORG"),
            _quote(HARBOUR_BODY, "Nobody told us anything at all,", None),
        ],
        places=["Valletta"], organizations=["Port Authority"], speakers=["Port Authority"],
    )
    markets = EnrichedArticle(
        id="reads/marches", title="Marchés", body=MARKETS_BODY, published_at=_when(29), fetched_at=_when(29),
        language="fr", source={"connector": "rss", "name": "Wire"},
    )
    late = EnrichedArticle(
        id="reads/late", title="Late arrival", body=LATE_BODY, fetched_at=_when(28), language="en",
        source={"connector": "rss", "name": "wire"},
        entities=[Entity(name="Antony Blinken", label="PERSON", mentions=1, aliases=["Blinken"])],
        people=["Antony Blinken"], places=["Brussels"],
    )
    return [blinken, harbour, markets, late]


def ids(articles) -> list[str]:
    return [getattr(article, "article", article).id for article in articles]


def check_counts_and_filters(index: Index) -> None:
    assert index.count() == 4
    assert index.count(SearchQuery()) == 4
    assert index.count(SearchQuery(text="Blinken")) == 3
    assert index.count(SearchQuery(text="!!!")) == 0
    assert index.count(SearchQuery(source="WIRE")) == 3, "a source matches whole, in any case"
    assert index.count(SearchQuery(source="wir")) == 0
    assert index.count(SearchQuery(language="fr")) == 1
    assert index.count(SearchQuery(text="Blinken", language="en", person="blinken")) == 2


def check_dates(index: Index) -> None:
    assert sorted(ids(index.scan(SearchQuery(since=date(2024, 4, 30))))) == ["reads/blinken", "reads/harbour"]
    assert ids(index.scan(SearchQuery(until=date(2024, 4, 28)))) == ["reads/late"], "no published_at: the fetch date counts"
    assert ids(index.scan(SearchQuery(since=date(2024, 4, 29), until=date(2024, 4, 29)))) == ["reads/marches"]
    assert index.count(SearchQuery(since=date(2024, 5, 2))) == 0


def check_pages(index: Index) -> None:
    newest = ["reads/blinken", "reads/harbour", "reads/marches", "reads/late"]
    assert ids(index.search(SearchQuery(limit=10))) == newest
    assert ids(index.search(SearchQuery(limit=2, offset=2))) == newest[2:]
    assert ids(index.search(SearchQuery(limit=2, offset=4))) == []
    marked = index.search(SearchQuery(text="ceasefire", marks=("<<", ">>")))
    assert "<<ceasefire>>" in marked[0].snippets[0]


def check_facets(index: Index) -> None:
    every = index.facets(SearchQuery())
    assert every["person"] == [FacetCount("Antony Blinken", 2), FacetCount("David Cameron", 1)]
    assert every["org"] == [FacetCount("Port Authority", 1)]
    assert [c.value for c in every["place"]] == ["Brussels", "Valletta", "Washington"]
    assert every["speaker"] == [FacetCount("Antony Blinken", 1), FacetCount("David Cameron", 1), FacetCount("Port Authority", 1)]
    assert every["source"] == [FacetCount("wire", 2), FacetCount("Wire", 1), FacetCount("harbour-news", 1)], "as spelled"
    assert every["language"] == [FacetCount("en", 3), FacetCount("fr", 1)]
    narrowed = index.facets(SearchQuery(text="Blinken", language="en"))
    assert narrowed["person"] == [FacetCount("Antony Blinken", 2), FacetCount("David Cameron", 1)]
    assert narrowed["org"] == [] and narrowed["language"] == [FacetCount("en", 2)]
    assert all(len(values) <= 1 for values in index.facets(SearchQuery(), size=1).values())
    assert all(values == [] for values in index.facets(SearchQuery(text="nothingmatcheshere")).values())


def check_scan(index: Index) -> None:
    everything = [article.id for article in index.scan(SearchQuery(), page_size=1)]
    assert sorted(everything) == sorted(a.id for a in corpus()), "each match once, across pages"
    assert sorted(ids(index.scan(SearchQuery(text="Blinken"), page_size=2))) == ["reads/blinken", "reads/late", "reads/marches"]
    assert list(index.scan(SearchQuery(text="?!"))) == []
    found = {article.id: article for article in index.scan(SearchQuery())}
    assert found == {article.id: as_stored(article) for article in corpus()}, "a scan gives the articles whole"


def as_stored(article: EnrichedArticle) -> EnrichedArticle:
    """What an index holds for an article written alone: its first way in as its only source, a story of one."""
    return article.model_copy(update={"sources": [article.source], "story_id": article.id, "copies": 1})


def check_quotes(index: Index) -> None:
    by_blinken = index.quotes(SearchQuery(speaker="Blinken"))
    assert [hit.quote.text for hit in by_blinken] == [
        "We are working on a ceasefire every day,",
        "The gap between intent and results remains,",
    ], "only the speaker's quotes, in body order"
    assert {hit.article.id for hit in by_blinken} == {"reads/blinken"} and [hit.position for hit in by_blinken] == [0, 1]
    harbour = index.quotes(SearchQuery(text="harbour"))
    assert [hit.quote.speaker for hit in harbour] == ["Port Authority", None]
    assert len(index.quotes(SearchQuery(), limit=4)) == 4
    assert len(index.quotes(SearchQuery())) == 5
    assert index.quotes(SearchQuery(speaker="Nobody Atall")) == []


ALL_CHECKS = (check_counts_and_filters, check_dates, check_pages, check_facets, check_scan, check_quotes)

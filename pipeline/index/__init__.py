"""Where enriched articles are indexed and searched: one contract, two implementations.

    Index            EmbeddedIndex (SQLite FTS5 under data_dir)   ElasticIndex (the configured alias)
    setup()          create the schema                            template, versioned index, alias
    write(articles)  one WriteResult per article, same order: indexed · stale (a newer version is kept) · failed
    search(query) · count(query) · get(id) · refresh() · open()/close() (a context manager)
    facets(query, size)   the most frequent people, organizations, places, speakers, sources, languages of the matches
    scan(query)           every match once, streamed in constant memory (SQLite cursor; ES point in time + search_after)
    quotes(query, limit)  the quotes of the matches, best articles first; with a speaker filter, that speaker's only

The runtime picks the implementation in one place (pipeline.runtime.indexes); stages and
commands talk to the contract. Writes are idempotent: the article id is the key, and an
older version never replaces a newer one.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from pipeline.article import EnrichedArticle
from pipeline.search import Facets, QuoteHit, SearchHit, SearchQuery, name_matches

__all__ = ["Index", "WriteResult", "WriteStatus"]

WriteStatus = Literal["indexed", "stale", "failed"]


@dataclass(frozen=True)
class WriteResult:
    """What happened to one article of a write: `indexed`, `stale` (a newer version is kept) or `failed`."""

    article_id: str
    status: WriteStatus
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the article is safe (indexed or stale): its offset or checkpoint may be committed."""
        return self.status != "failed"


class Index(ABC):
    """What every index does; see the module docstring. Use as a context manager (`open`, then `close`)."""

    @abstractmethod
    def open(self) -> "Index":
        """Connect (cheap; no request is sent yet for Elasticsearch)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "Index":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def setup(self) -> list[str]:
        """Make the index exist (idempotent); one line per thing done."""

    @abstractmethod
    def write(self, articles: Sequence[EnrichedArticle], stop: threading.Event | None = None) -> list[WriteResult]:
        """Index a batch; one result per article. ServiceUnavailable when the output is not safe yet."""

    @abstractmethod
    def refresh(self) -> None:
        """Make everything written so far searchable."""

    @abstractmethod
    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best matches first; without text, the newest articles that pass the filters."""

    @abstractmethod
    def count(self, query: SearchQuery | None = None) -> int:
        """How many articles are indexed, or match `query` (its limit and offset aside)."""

    @abstractmethod
    def get(self, article_id: str) -> EnrichedArticle | None: ...

    @abstractmethod
    def facets(self, query: SearchQuery, size: int = 10) -> Facets:
        """For each facet option (pipeline.search.FACET_OPTIONS), its `size` most frequent values
        among the articles matching `query`, with how many carry each; most first, then by name."""

    @abstractmethod
    def scan(self, query: SearchQuery, page_size: int = 500) -> Iterator[EnrichedArticle]:
        """Every article matching `query` (its limit and offset aside), each once, in the index's own order.

        Memory stays the same however many match: pages of `page_size` are read from a cursor
        that sees the index as it was when the scan began. Close the iterator (or exhaust it)
        to release the cursor.
        """

    # Quotes come from the matching articles, so both indexes answer them with `search`.
    QUOTE_PAGE = 50  # articles read per page while gathering quotes
    MAX_QUOTE_ARTICLES = 2000  # the most articles one quote search reads

    def quotes(self, query: SearchQuery, limit: int = 100) -> list[QuoteHit]:
        """The quotes of the articles matching `query`, best (or newest) article first, in body order.

        With a speaker filter only that speaker's quotes are kept (the filter's rule: a whole name
        or a run of whole words in it); at most `limit` quotes, from at most MAX_QUOTE_ARTICLES articles.
        """
        found: list[QuoteHit] = []
        page = query.replace(limit=self.QUOTE_PAGE, offset=0)
        while len(found) < limit and page.offset < self.MAX_QUOTE_ARTICLES:
            hits = self.search(page)
            for hit in hits:
                for position, quote in enumerate(hit.article.quotes):
                    if query.speaker and not name_matches(query.speaker, quote.speaker):
                        continue
                    found.append(QuoteHit(hit.article, quote, position))
            if len(hits) < page.limit:
                break
            page = page.replace(offset=page.offset + page.limit)
        return found[:limit]

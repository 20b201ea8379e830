"""Where enriched articles are indexed and searched: one contract, two implementations.

    Index            EmbeddedIndex (SQLite FTS5 under data_dir)   ElasticIndex (the configured alias)
    setup()          create the schema                            template, versioned index, alias
    write(articles)  one WriteResult per article, same order: indexed · stale (a newer version is kept)
                     · joined (another source owns the article: this one is added to its `sources`) · failed
    search(query) · count(query) · get(id) · refresh() · open()/close() (a context manager)
    facets(query, size)   the most frequent people, organizations, places, speakers, sources, languages of the matches
    scan(query)           every match once, streamed in constant memory (SQLite cursor; ES point in time + search_after)
    quotes(query, limit)  the quotes of the matches, best articles first; with a speaker filter, that speaker's only
    stories          the story store: what the story step (pipeline.runtime.stories) reads and changes

The runtime picks the implementation in one place (pipeline.runtime.indexes); stages and
commands talk to the contract. Writes are idempotent: the article id is the key, and an
older version never replaces a newer one. Only the source that brought an article first
replaces it (`pipeline.index.ownership`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline.article import EnrichedArticle
from pipeline.search import Facets, QuoteHit, SearchHit, SearchQuery, name_matches

__all__ = ["Index", "WriteResult", "WriteStatus", "StoryMark", "Indexed", "StoryCandidate", "StoryStore"]

WriteStatus = Literal["indexed", "stale", "joined", "failed"]


@dataclass(frozen=True)
class WriteResult:
    """What happened to one article of a write: `indexed`, `stale`, `joined` or `failed` (see the module docstring)."""

    article_id: str
    status: WriteStatus
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the article is safe (indexed, stale or joined): its offset or checkpoint may be committed."""
        return self.status != "failed"


@dataclass(frozen=True)
class StoryMark:
    """What the story step asks an index to keep with an article it writes.

    `band_keys` are indexed (the candidate lookup), `fingerprint` is stored only (a candidate is
    verified on it); `seen_at` is when newswire first stored the article, `story_seen_at` the
    same for its story's first copy. (story_seen_at, story_id) orders stories: when two merge,
    every worker picks the earlier one.
    """

    band_keys: tuple[str, ...]
    fingerprint: dict[str, Any] | None
    seen_at: datetime
    story_seen_at: datetime


@dataclass(frozen=True)
class Indexed:
    """An article as the index holds it, for the story step: its id, when first seen, and its story."""

    id: str
    seen_at: datetime
    story_id: str
    story_seen_at: datetime


@dataclass(frozen=True)
class StoryCandidate:
    """An indexed article sharing band keys with the one looked up (`shared` of them), with its story."""

    id: str
    story_id: str
    story_seen_at: datetime
    fingerprint: dict[str, Any] | None
    shared: int


class StoryStore(ABC):
    """The stories of one index (docs/story-identity.md). Every change is idempotent: a re-delivered batch redoes it.

    `single_writer`: True when only one process writes the index (the embedded one), so no other
    writer can have added a copy between a lookup and the write: the story step skips its second look.
    """

    single_writer: bool = False

    @abstractmethod
    def lookup(self, articles: Sequence[EnrichedArticle]) -> list[Indexed | None]:
        """Per article: what is indexed under its id, else under an older id with the same canonical URL, else None."""

    @abstractmethod
    def candidates(self, band_keys: Sequence[Sequence[str]], exclude: Sequence[str], size: int) -> list[list[StoryCandidate]]:
        """Per article: the `size` indexed articles sharing most of its band keys (never the id in `exclude`)."""

    @abstractmethod
    def merge(self, into: str, into_seen_at: datetime, stories: Sequence[str]) -> int:
        """Move every copy of `stories` into story `into`; returns how many moved.

        When `into` itself has meanwhile been merged into an earlier story, everything follows
        it there: a merge only ever moves copies to an earlier story, so merges converge.
        """

    @abstractmethod
    def recount(self, story_ids: Sequence[str]) -> dict[str, int]:
        """Set `copies` on each story's first copy to its number of articles; returns the counts."""


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
    def write(
        self,
        articles: Sequence[EnrichedArticle],
        stop: threading.Event | None = None,
        marks: Sequence[StoryMark | None] | None = None,
    ) -> list[WriteResult]:
        """Index a batch; one result per article. ServiceUnavailable when the output is not safe yet.

        `marks` (same order) is what the story step keeps with each article; without one an
        article keeps the story it has (or starts its own) and is not found by band keys.
        """

    @property
    @abstractmethod
    def stories(self) -> StoryStore:
        """The story store of this index."""

    @abstractmethod
    def refresh(self) -> None:
        """Make everything written so far searchable."""

    @abstractmethod
    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best matches first, one per story unless `query.copies`; without text, the newest that pass the filters."""

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

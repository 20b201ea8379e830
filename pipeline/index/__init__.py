"""Where enriched articles are indexed and searched: one contract, two implementations.

    Index            EmbeddedIndex (SQLite FTS5 under data_dir)   ElasticIndex (the configured alias)
    setup()          create the schema                            template, versioned index, alias
    write(articles)  one WriteResult per article, same order: indexed · stale (a newer version is kept) · failed
    search(query) · count() · get(id) · refresh() · open()/close() (a context manager)

The runtime picks the implementation in one place (pipeline.runtime.indexes); stages and
commands talk to the contract. Writes are idempotent: the article id is the key, and an
older version never replaces a newer one.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pipeline.article import EnrichedArticle
from pipeline.search import SearchHit, SearchQuery

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
    def count(self) -> int: ...

    @abstractmethod
    def get(self, article_id: str) -> EnrichedArticle | None: ...

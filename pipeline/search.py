"""The search request and its hits, shared by the embedded index and Elasticsearch."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.article import EnrichedArticle

__all__ = ["FACETS", "SearchQuery", "SearchHit"]

# The entity filters of a search: SearchQuery option → the article's keyword list it matches.
# Both indexes read this one table.
FACETS = {"person": "people", "org": "organizations", "place": "places", "speaker": "speakers"}


@dataclass(frozen=True)
class SearchQuery:
    """Full text over title and body, narrowed by entity filters (each matches a whole name or a word run in it)."""

    text: str = ""
    person: str | None = None
    org: str | None = None
    place: str | None = None
    speaker: str | None = None
    limit: int = 10


@dataclass
class SearchHit:
    """One article found, with its relevance score and a snippet around the match (`[`…`]` mark the terms)."""

    article: EnrichedArticle
    score: float
    snippets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        record = self.article.to_dict()
        record["score"] = self.score
        return record

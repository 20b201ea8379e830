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
    """Full text over title and body, narrowed by entity filters (each matches a whole name or a word run in it).

    One hit per story (its best-matching copy) unless `copies` asks for every copy;
    `language` keeps articles in that language (ISO 639-1).
    """

    text: str = ""
    person: str | None = None
    org: str | None = None
    place: str | None = None
    speaker: str | None = None
    limit: int = 10
    language: str | None = None
    copies: bool = False


@dataclass
class SearchHit:
    """One article found, with its relevance score and a snippet around the match (`[`…`]` mark the terms).

    `copies` is how many articles its story has, `outlets` who published them (first seen first).
    """

    article: EnrichedArticle
    score: float
    snippets: list[str] = field(default_factory=list)
    copies: int = 1
    outlets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The article as JSON with its `score`, `story_id`, and its story's `story_copies` and `story_outlets`."""
        record = self.article.to_dict()
        record["story_id"] = self.article.story_id or self.article.id
        record["score"] = self.score
        record["story_copies"] = self.copies
        record["story_outlets"] = self.outlets
        return record

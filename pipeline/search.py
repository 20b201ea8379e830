"""The search request and what it finds, shared by the embedded index and Elasticsearch.

A `SearchQuery` is full text plus filters; an index answers it with `SearchHit`s (one page),
a count, `Facets` (how many matches carry each person, organization, place, speaker,
source and language), `QuoteHit`s (the quotes of the matches) or every match in turn.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date

from pipeline.article import EnrichedArticle, Quote

__all__ = [
    "FACETS",
    "FIELD_FILTERS",
    "FACET_OPTIONS",
    "SNIPPET_MARKS",
    "SearchQuery",
    "SearchHit",
    "FacetCount",
    "Facets",
    "QuoteHit",
    "name_matches",
]

# The entity filters of a search: SearchQuery option → the article's keyword list it matches.
# Both indexes read this one table.
FACETS = {"person": "people", "org": "organizations", "place": "places", "speaker": "speakers"}

# Filters on one keyword of the article, matched whole (any case): option → the field's path.
FIELD_FILTERS = {"source": "source.name", "language": "language"}

# Every option that has facet counts, in the order a page shows them.
FACET_OPTIONS = (*FACETS, *FIELD_FILTERS)

# The default marks around matched terms in snippets; a caller may ask for others (SearchQuery.marks).
SNIPPET_MARKS = ("[", "]")


@dataclass(frozen=True)
class SearchQuery:
    """Full text over title and body, narrowed by filters; one page of `limit` hits from `offset`.

    Entity filters (person, org, place, speaker) match a whole name or a run of whole words in
    it; `source` (the source's name) and `language` match the whole value in any case;
    `since`/`until` keep articles dated on or between those days (UTC; the article's date is
    `published_at`, else `fetched_at`).
    One hit per story (its best-matching copy) unless `copies` asks for every copy.
    """

    text: str = ""
    person: str | None = None
    org: str | None = None
    place: str | None = None
    speaker: str | None = None
    source: str | None = None
    language: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 10
    copies: bool = False
    offset: int = 0
    marks: tuple[str, str] = SNIPPET_MARKS

    def filters(self) -> dict[str, str]:
        """The filters in use: option → value (blank values left out)."""
        found = {}
        for option in FACET_OPTIONS:
            value = getattr(self, option)
            if value and value.strip():
                found[option] = value.strip()
        return found

    def replace(self, **changes: object) -> "SearchQuery":
        return dataclasses.replace(self, **changes)


@dataclass
class SearchHit:
    """One article found, with its relevance score and a snippet around the match (`marks` around the terms).

    `story_copies` is how many articles its story has, `story_outlets` who published them (first seen first).
    """

    article: EnrichedArticle
    score: float
    snippets: list[str] = field(default_factory=list)
    story_copies: int = 1
    story_outlets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The article as JSON with its `score`, `story_id`, and its story's `story_copies` and `story_outlets`."""
        record = self.article.to_dict()
        record["story_id"] = self.article.story_id or self.article.id
        record["score"] = self.score
        record["story_copies"] = self.story_copies
        record["story_outlets"] = self.story_outlets
        return record


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet and how many matching articles carry it."""

    value: str
    count: int


# option (person, org, place, speaker, source, language) → its most frequent values, most first
Facets = dict[str, list[FacetCount]]


@dataclass(frozen=True)
class QuoteHit:
    """One quote of a matching article; `position` is its place in `article.quotes`."""

    article: EnrichedArticle
    quote: Quote
    position: int


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def name_matches(wanted: str, name: str | None) -> bool:
    """The entity filters' rule for one name: the whole name in any case, or a run of whole words in it.

    `Blinken` and `antony blinken` match "Antony Blinken"; `Blink` does not.
    """
    if not name or not wanted.strip():
        return False
    if wanted.strip().casefold() == name.casefold():
        return True
    want, have = _words(wanted), _words(name)
    return bool(want) and any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))

"""What a page or an API call shows, read from the index once and shaped for both.

The pages and the JSON API call the same functions here (`find_stories`, `find_quotes`,
`group_by_speaker`, the `*_json` shapes), so the page shows what `/api/` returns. Hits of one
story are shown as one result: the index collapses on `story_id` (one hit per story, with its
story's `story_copies`), and the other hits of the page with the same `story_id` (when every
copy was asked for) are listed under it; an article without one is its own story.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.article import EnrichedArticle, Quote
from pipeline.index import Index
from pipeline.search import Facets, QuoteHit, SearchHit, SearchQuery, name_matches
from pipeline.web.markup import safe_link, snippet_pieces

__all__ = [
    "Story",
    "StoryResults",
    "SpeakerQuotes",
    "story_id_of",
    "group_stories",
    "find_stories",
    "find_quotes",
    "quotes_for",
    "group_by_speaker",
    "group_by_month",
    "story_json",
    "quote_json",
    "facets_json",
    "article_json",
]


def story_id_of(article: EnrichedArticle) -> str:
    """The story an article belongs to: its `story_id` (set by the index), else itself."""
    return article.story_id or article.id


@dataclass
class Story:
    """One result: the best hit of a story and the other copies of it that were found."""

    lead: SearchHit
    copies: list[EnrichedArticle] = field(default_factory=list)

    @property
    def size(self) -> int:
        """How many copies the story has (the lead included): the index's count of the story, at least those found."""
        return max(self.lead.story_copies, 1 + len(self.copies))


def group_stories(hits: list[SearchHit]) -> list[Story]:
    """One Story per story_id, in the order of each story's best hit."""
    stories: dict[str, Story] = {}
    for hit in hits:
        key = story_id_of(hit.article)
        if key in stories:
            stories[key].copies.append(hit.article)
        else:
            stories[key] = Story(hit)
    return list(stories.values())


@dataclass
class StoryResults:
    query: SearchQuery
    total: int
    stories: list[Story]


def find_stories(index: Index, query: SearchQuery) -> StoryResults:
    return StoryResults(query, index.count(query), group_stories(index.search(query)))


@dataclass
class SpeakerQuotes:
    """Who said what: one speaker (None: not attributed) and their quotes, in the order found."""

    speaker: str | None
    quotes: list[QuoteHit]


def quotes_for(article: EnrichedArticle, query: SearchQuery) -> list[Quote]:
    """The article's quotes a result shows, direct quotes before reported speech; with a speaker filter, only that speaker's."""
    chosen = [quote for quote in article.quotes if not query.speaker or name_matches(query.speaker, quote.speaker)]
    return sorted(chosen, key=lambda quote: quote.kind != "direct")


def find_quotes(index: Index, query: SearchQuery, limit: int) -> list[QuoteHit]:
    return index.quotes(query, limit)


def group_by_speaker(quotes: list[QuoteHit]) -> list[SpeakerQuotes]:
    """Speakers with the most quotes first (then by name); quotes without a speaker last."""
    grouped: dict[str | None, list[QuoteHit]] = defaultdict(list)
    for hit in quotes:
        grouped[hit.quote.speaker].append(hit)
    order = sorted(grouped, key=lambda name: (name is None, -len(grouped[name]), (name or "").casefold()))
    return [SpeakerQuotes(name, grouped[name]) for name in order]


def _date_of(article: EnrichedArticle) -> datetime | None:
    return article.published_at or article.fetched_at


def group_by_month(quotes: list[QuoteHit]) -> list[tuple[str, list[QuoteHit]]]:
    """One speaker's quotes over time: (YYYY-MM or "undated", quotes), newest month first."""
    grouped: dict[str, list[QuoteHit]] = defaultdict(list)
    for hit in quotes:
        moment = _date_of(hit.article)
        grouped[moment.strftime("%Y-%m") if moment else "undated"].append(hit)
    dated = sorted((month for month in grouped if month != "undated"), reverse=True)
    return [(month, grouped[month]) for month in dated] + ([("undated", grouped["undated"])] if "undated" in grouped else [])


# -- JSON shapes of the API ------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _article_ref(article: EnrichedArticle) -> dict[str, Any]:
    """What a result or a quote says about its article."""
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "link": safe_link(article.url),
        "published_at": _iso(article.published_at),
        "fetched_at": _iso(article.fetched_at),
        "source": article.source.name if article.source else None,
        "language": article.language,
    }


def _quote_fields(quote: Quote) -> dict[str, Any]:
    return quote.model_dump(mode="json")


def story_json(story: Story, marks: tuple[str, str]) -> dict[str, Any]:
    article = story.lead.article
    return {
        **_article_ref(article),
        "score": story.lead.score,
        "snippets": [[{"text": text, "match": matched} for text, matched in snippet_pieces(snippet, marks)] for snippet in story.lead.snippets],
        "people": article.people,
        "organizations": article.organizations,
        "places": article.places,
        "speakers": article.speakers,
        "quotes": [_quote_fields(quote) for quote in article.quotes],
        "story": {"id": story_id_of(article), "copies": story.size, "others": [_article_ref(copy) for copy in story.copies]},
    }


def quote_json(hit: QuoteHit) -> dict[str, Any]:
    return {**_quote_fields(hit.quote), "position": hit.position, "article": _article_ref(hit.article)}


def facets_json(facets: Facets) -> dict[str, list[dict[str, Any]]]:
    return {option: [{"value": count.value, "count": count.count} for count in counts] for option, counts in facets.items()}


def article_json(article: EnrichedArticle) -> dict[str, Any]:
    return {**article.to_dict(), "link": safe_link(article.url), "story_id": story_id_of(article)}

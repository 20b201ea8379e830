"""What an export holds: one table per `--what`, its typed columns and the rows one article gives.

    articles  one row per article: its fields, lists of names, entities and quotes as JSON text
    quotes    one row per quote: article id, url, published date, source, speaker, speaker label,
              kind, quote text, offsets (start, end: characters in the body)
    entities  one row per entity of an article: name, label, mentions, the surface forms seen

With a speaker filter, the quotes table keeps that speaker's quotes only (the quotes view's
rule, `pipeline.search.name_matches`); the other tables are whole articles. Column kinds: `text`, `int`, `time` (an aware datetime, UTC in Parquet), `texts` (a list of
strings) and `json` (nested records kept whole, as JSON text). JSON lines of articles are
the articles themselves (the EnrichedArticle JSON `newswire search --json` prints).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.article import EnrichedArticle, Quote
from pipeline.search import name_matches

__all__ = ["Column", "Table", "TABLES", "quote_kind"]

ColumnKind = Literal["text", "int", "time", "texts", "json"]
Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind


@dataclass(frozen=True)
class Table:
    """An export's columns, the rows of one article (Python values by column kind), and its JSON lines."""

    name: str
    columns: tuple[Column, ...]
    rows: Callable[[EnrichedArticle, str | None], Iterator[Row]]  # (article, speaker filter)
    documents: Callable[[EnrichedArticle], Iterator[Row]] | None = None  # JSON lines, when not the rows

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


def quote_kind(quote: Quote) -> str:
    """`direct` or `indirect`: the quote's own kind where the model carries one (issue 16), else direct."""
    return getattr(quote, "kind", None) or "direct"


def _columns(spec: str) -> tuple[Column, ...]:
    """`"name:kind name:kind"` → columns."""
    return tuple(Column(name, kind) for name, kind in (part.split(":") for part in spec.split()))  # type: ignore[arg-type]


def _source_name(article: EnrichedArticle) -> str | None:
    return article.source.name if article.source else None


def _article_rows(article: EnrichedArticle, speaker: str | None = None) -> Iterator[Row]:
    source = article.source
    yield {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "language": article.language,
        "source_connector": source.connector if source else None,
        "source_name": source.name if source else None,
        "source_feed": source.feed if source else None,
        "authors": list(article.authors),
        "categories": list(article.categories),
        "people": list(article.people),
        "organizations": list(article.organizations),
        "places": list(article.places),
        "speakers": list(article.speakers),
        "entities": json.dumps([entity.model_dump(mode="json") for entity in article.entities], ensure_ascii=False),
        "quotes": json.dumps([quote.model_dump(mode="json") for quote in article.quotes], ensure_ascii=False),
        "body": article.body,
    }


def _article_documents(article: EnrichedArticle) -> Iterator[Row]:
    yield article.to_dict()


def _quote_rows(article: EnrichedArticle, speaker: str | None = None) -> Iterator[Row]:
    for quote in article.quotes:
        if speaker and not name_matches(speaker, quote.speaker):
            continue
        yield {
            "article_id": article.id,
            "url": article.url,
            "published_at": article.published_at,
            "source": _source_name(article),
            "speaker": quote.speaker,
            "speaker_label": quote.speaker_label,
            "kind": quote_kind(quote),
            "text": quote.text,
            "start": quote.start,
            "end": quote.end,
        }


def _entity_rows(article: EnrichedArticle, speaker: str | None = None) -> Iterator[Row]:
    for entity in article.entities:
        yield {
            "article_id": article.id,
            "url": article.url,
            "published_at": article.published_at,
            "source": _source_name(article),
            "name": entity.name,
            "label": entity.label,
            "mentions": entity.mentions,
            "aliases": list(entity.aliases),
        }


TABLES = {
    "articles": Table(
        "articles",
        _columns(
            "id:text url:text title:text published_at:time fetched_at:time language:text source_connector:text "
            "source_name:text source_feed:text authors:texts categories:texts people:texts organizations:texts "
            "places:texts speakers:texts entities:json quotes:json body:text"
        ),
        _article_rows,
        _article_documents,
    ),
    "quotes": Table(
        "quotes",
        _columns(
            "article_id:text url:text published_at:time source:text speaker:text speaker_label:text kind:text "
            "text:text start:int end:int"
        ),
        _quote_rows,
    ),
    "entities": Table(
        "entities",
        _columns("article_id:text url:text published_at:time source:text name:text label:text mentions:int aliases:texts"),
        _entity_rows,
    ),
}

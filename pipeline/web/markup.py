"""Article text cut into pieces the templates mark up: snippet matches, entity mentions, quotes.

Nothing here writes HTML: it returns plain text pieces with what each one is, and the
templates (autoescaped) turn them into elements, so article text is never markup. Links to
the outside are kept only when they are http(s) URLs with a host (`safe_link`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pipeline.article import EnrichedArticle, Entity, Quote
from pipeline.search import FACETS

__all__ = ["safe_link", "snippet_pieces", "Piece", "Passage", "body_passages", "entity_option"]


def safe_link(url: str | None) -> str | None:
    """`url` when it is an http(s) URL with a host; None for anything else (javascript:, data:, relative...)."""
    if not url or len(url) > 4096 or any(ch in url for ch in "\x00\r\n\t"):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def snippet_pieces(snippet: str, marks: tuple[str, str]) -> list[tuple[str, bool]]:
    """A snippet with `marks` around matched terms → (text, matched) pieces; stray marks are dropped."""
    opening, closing = marks
    pieces: list[tuple[str, bool]] = []
    matched = False
    for part in re.split(f"({re.escape(opening)}|{re.escape(closing)})", snippet):
        if part == opening:
            matched = True
        elif part == closing:
            matched = False
        elif part:
            pieces.append((part, matched))
    return pieces


def entity_option(article: EnrichedArticle, entity: Entity) -> str | None:
    """The filter an entity's name is a value of in this article (person, org, place), if any."""
    for option in ("person", "org", "place"):
        if entity.name in getattr(article, FACETS[option]):
            return option
    return None


@dataclass(frozen=True)
class Piece:
    """Body text; `entity` set when it is a mention of one of the article's entities."""

    text: str
    entity: Entity | None = None
    option: str | None = None  # the entity's filter (person, org, place), for a link


@dataclass
class Passage:
    """A run of the body: a quote (with its number in article.quotes) or the text between quotes."""

    pieces: list[Piece] = field(default_factory=list)
    quote: Quote | None = None
    number: int | None = None


def _mentions(article: EnrichedArticle) -> tuple[re.Pattern[str] | None, dict[str, tuple[Entity, str | None]]]:
    """One pattern for every surface form of every entity (longest first), and form → entity."""
    forms: dict[str, tuple[Entity, str | None]] = {}
    for entity in sorted(article.entities, key=lambda e: -e.mentions):
        option = entity_option(article, entity)
        for form in (entity.name, *entity.aliases):
            if form.strip() and form.casefold() not in forms:
                forms[form.casefold()] = (entity, option)
    if not forms:
        return None, forms
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), forms


def _pieces(text: str, pattern: re.Pattern[str] | None, forms: dict[str, tuple[Entity, str | None]]) -> list[Piece]:
    if not text:
        return []
    if pattern is None:
        return [Piece(text)]
    pieces, at = [], 0
    for found in pattern.finditer(text):
        if found.start() > at:
            pieces.append(Piece(text[at:found.start()]))
        entity, option = forms[found.group(0).casefold()]
        pieces.append(Piece(found.group(0), entity, option))
        at = found.end()
    if at < len(text):
        pieces.append(Piece(text[at:]))
    return pieces


def body_passages(article: EnrichedArticle) -> list[Passage]:
    """The body as passages: quotes where their offsets point at their text, entity mentions marked inside.

    A quote whose offsets do not hold its text, or that overlaps an earlier one, stays unmarked
    (the quotes list of the page still shows it).
    """
    body = article.body
    pattern, forms = _mentions(article)
    placed = sorted(
        (
            (quote.start, quote.end, number, quote)
            for number, quote in enumerate(article.quotes)
            if 0 <= quote.start < quote.end <= len(body) and body[quote.start:quote.end] == quote.text
        ),
        key=lambda item: (item[0], item[1]),
    )
    passages: list[Passage] = []
    at = 0
    for start, end, number, quote in placed:
        if start < at:
            continue
        if start > at:
            passages.append(Passage(_pieces(body[at:start], pattern, forms)))
        passages.append(Passage(_pieces(body[start:end], pattern, forms), quote, number))
        at = end
    if at < len(body):
        passages.append(Passage(_pieces(body[at:], pattern, forms)))
    return passages

"""Main text and metadata of an HTML page, through trafilatura (shared by the files and feed connectors)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import trafilatura

__all__ = ["Page", "extract_page"]

logger = logging.getLogger(__name__)


@dataclass
class Page:
    """What an article page holds once its boilerplate is gone."""

    text: str
    title: str = ""
    url: str | None = None
    published_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None
    categories: list[str] = field(default_factory=list)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def extract_page(html: str | bytes, url: str | None = None) -> Page | None:
    """The article in `html` (title, plain text, date, authors), or None if there is no main text."""
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False
    )
    if document is None:
        return None
    text = (document.text or "").strip()
    if not text:
        return None
    authors = [a.strip() for a in (document.author or "").split(";") if a.strip()]
    categories = list(document.categories or [])
    return Page(
        text=text,
        title=(document.title or "").strip(),
        url=document.url or url,
        published_at=_date(document.date),
        authors=authors,
        language=document.language,
        categories=categories,
    )

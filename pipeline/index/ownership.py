"""Who may change an indexed article, and the sources it came through: one rule for both indexes.

An article belongs to the source that brought it first (`source`, a connector type and its
configured name). Only a later version from that source replaces what is indexed. The same
id arriving from any other source — another feed listing the same article, a file or a feed
claiming an id that is not its own — is *joined*: that source is added to `sources`, and the
content, the version and the story stay as they are. So three feeds listing one article make
one document with three sources, and no source can overwrite another's article.

What the indexes also keep per article, computed here so both agree: the canonical URL of its
link (to find it when it arrives under another id) and its outlet (the host of that URL, else
the source's name), which search lists for the copies of a story.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pipeline.article import Article, Source
from pipeline.urls import canonical_url

__all__ = ["owner_key", "may_replace", "joined_sources", "outlet_of"]

def owner_key(source: Source | dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(connector type, name) of a source given as a model or as stored JSON; (None, None) without one."""
    if source is None:
        return (None, None)
    if isinstance(source, Source):
        return source.key
    return (source.get("connector"), source.get("name"))


def may_replace(article: Article, owner: Source | dict[str, Any] | None) -> bool:
    """True when `article` comes from the source that owns the indexed article (so its newer version may replace it)."""
    return owner_key(article.source) == owner_key(owner)


def joined_sources(sources: list[dict[str, Any]], source: Source | None) -> list[dict[str, Any]]:
    """`sources` (stored JSON) with `source` appended unless that source is already listed."""
    listed = [dict(s) for s in sources if isinstance(s, dict)]
    if source is None or any(owner_key(s) == source.key for s in listed):
        return listed
    return listed + [source.model_dump(mode="json", exclude_none=True)]


def outlet_of(article: Article) -> str | None:
    """Who published the article: the host of its canonical link (`apnews.com`), else its source's name."""
    link = canonical_url(article.url)
    if link:
        return urlsplit(link).hostname
    return article.source.name if article.source else None

"""HTML to plain text: a page's main text and metadata through trafilatura, a fragment (feed content) with lxml.

Extraction is bounded before it starts. trafilatura's passes grow faster than the page (a flat page
of 70,000 tiny elements took 11-25 s, one of 1.4 million about nine minutes and 1 GB), so a page is
first counted with lxml's pull parser, which stops as soon as it passes `MAX_HTML_ELEMENTS`: such a
page is refused (SourceRejected) after reading only that much of it. Its text (outside scripts and
styles) is bounded too, by `MAX_HTML_TEXT_CHARS`: extraction time grows with it (about 1.4 s per
MB here). Real article pages hold a few thousand elements and well under a megabyte of text;
bench/html_extraction.py measures the bound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import lxml.html
import trafilatura
from lxml import etree

from pipeline.errors import SourceRejected

__all__ = ["Page", "extract_page", "html_to_text", "tidy_text", "check_page_size", "MAX_HTML_ELEMENTS", "MAX_HTML_TEXT_CHARS"]

MAX_HTML_ELEMENTS = 20_000
MAX_HTML_TEXT_CHARS = 4 * 1024 * 1024  # twice the default body limit: more text cannot make a body that fits
_FEED_CHUNK = 64 * 1024

logger = logging.getLogger(__name__)

BLOCK_TAGS = frozenset(
    "address article aside blockquote dd details div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul".split()
)
DROPPED_TAGS = frozenset("script style noscript template iframe object embed svg head button select".split())
_PARAGRAPH, _LINE = "\x00p", "\x00l"


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
    canonical: str | None = None  # the page's own `<link rel="canonical">`, absolute; None without one


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def check_page_size(html: str | bytes, max_elements: int = MAX_HTML_ELEMENTS, max_text: int = MAX_HTML_TEXT_CHARS) -> int:
    """How many elements `html` holds; SourceRejected as soon as it passes `max_elements` (the rest is not
    parsed), or when its text outside scripts and styles is over `max_text` characters."""
    parser = etree.HTMLPullParser(events=("start",), remove_comments=True, remove_pis=True, no_network=True)
    count = 0
    for start in range(0, len(html), _FEED_CHUNK):
        parser.feed(html[start : start + _FEED_CHUNK])
        count += sum(1 for _ in parser.read_events())
        if count > max_elements:
            raise SourceRejected(f"HTML page too complex to extract: over {max_elements} elements")
    try:
        root = parser.close()
    except etree.LxmlError:
        return count  # an empty or broken document: trafilatura decides
    etree.strip_elements(root, *DROPPED_TAGS, with_tail=False)
    text = sum(len(piece) for piece in root.itertext())
    if text > max_text:
        raise SourceRejected(f"HTML page too long to extract: {text} characters of text, over the limit of {max_text}")
    return count


def extract_page(html: str | bytes, url: str | None = None, max_elements: int = MAX_HTML_ELEMENTS) -> Page | None:
    """The article in `html` (title, plain text, date, authors, canonical link), or None if there is no main text.

    SourceRejected for a page over `max_elements` elements (see the module docstring).
    """
    check_page_size(html, max_elements)
    try:
        tree = trafilatura.load_html(html)
        if tree is None:
            return None
        canonical = _canonical_link(tree, url)  # read first: extraction prunes the tree
        document = trafilatura.bare_extraction(
            tree, url=url, with_metadata=True, include_comments=False, include_tables=False
        )
    except (ValueError, etree.LxmlError, RecursionError) as e:
        logger.debug("extraction failed url=%s error=%s", url, e)
        return None
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
        canonical=canonical,
    )


def _canonical_link(tree: Any, url: str | None) -> str | None:
    """The href of the first `<link rel="canonical">` (rel may list several tokens), resolved against `url`.

    Only that link: trafilatura's own `url` also takes `og:url` and `<base>`, which many sites
    point at their home page.
    """
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in link.get("rel", "").lower().split() and link.get("href", "").strip():
            return urljoin(url or "", link.get("href").strip())
    return None


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: no tags, no script or style text, entities decoded,
    one blank line between paragraphs, runs of spaces collapsed."""
    if not markup or not markup.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return tidy_text(markup)
    pieces: list[str] = []
    _collect(root, pieces)
    return tidy_text("".join(pieces))


def _collect(element: Any, pieces: list[str]) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else None  # comments have no str tag
    if tag is not None and tag not in DROPPED_TAGS:
        block = tag in BLOCK_TAGS
        if block:
            pieces.append(_PARAGRAPH)
        elif tag == "br":
            pieces.append(_LINE)
        if element.text:
            pieces.append(element.text)
        for child in element:
            _collect(child, pieces)
        if block:
            pieces.append(_PARAGRAPH)
    if element.tail:
        pieces.append(element.tail)


def tidy_text(text: str) -> str:
    """Collapse spaces inside lines; keep paragraph breaks as one blank line."""
    text = text.replace("\r\n", "\n").replace("\n\n", _PARAGRAPH)
    paragraphs = []
    for paragraph in text.split(_PARAGRAPH):
        lines = [" ".join(line.split()) for line in paragraph.split(_LINE)]
        joined = "\n".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)

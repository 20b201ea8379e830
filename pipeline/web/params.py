"""Request parameters → a SearchQuery, within limits; what a page links to keeps the same parameters.

One reading for the pages and the API: `q` (the CLI's query language: words, "a phrase", OR),
`person`, `org`, `place`, `speaker`, `source`, `language`, `since`/`until` (YYYY-MM-DD),
`limit`, `offset`. Anything too long, too large or malformed is a BadRequest naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from pipeline.article import MAX_ID_BYTES
from pipeline.search import FACET_OPTIONS, SearchQuery

__all__ = [
    "BadRequest",
    "Limits",
    "LIMITS",
    "SEARCH_PARAMS",
    "search_query",
    "bounded_int",
    "article_id",
    "required_text",
    "search_params",
    "link",
    "HTML_MARKS",
]

SEARCH_PARAMS = ("q", *FACET_OPTIONS, "since", "until")
# Snippet marks the page asks the index for: private-use characters, which no title or body means.
HTML_MARKS = ("\ue000", "\ue001")


class BadRequest(ValueError):
    """A parameter the server will not take, with the reason (shown to the user; HTTP 400)."""


@dataclass(frozen=True)
class Limits:
    """The most a request may ask for."""

    query_chars: int = 500  # the words of `q`
    filter_chars: int = 300  # one filter value (a name)
    page_size: int = 100  # results per page (`limit`)
    default_page_size: int = 20
    offset: int = 5000  # the deepest page (Elasticsearch pages up to 10,000 hits)
    facet_size: int = 100
    default_facet_size: int = 10
    quotes: int = 500  # quotes per quotes view
    default_quotes: int = 100


LIMITS = Limits()


def required_text(params: Mapping[str, str], name: str, most: int) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        raise BadRequest(f"'{name}' is required")
    if len(value) > most:
        raise BadRequest(f"'{name}' is longer than {most} characters")
    return value


def _text(params: Mapping[str, str], name: str, most: int) -> str | None:
    value = (params.get(name) or "").strip()
    if len(value) > most:
        raise BadRequest(f"'{name}' is longer than {most} characters")
    if "\x00" in value:
        raise BadRequest(f"'{name}' holds a NUL character")
    return value or None


def _day(params: Mapping[str, str], name: str) -> date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be a date as YYYY-MM-DD") from None


def bounded_int(params: Mapping[str, str], name: str, default: int, least: int, most: int) -> int:
    value = (params.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or len(value) > 9:
        raise BadRequest(f"'{name}' must be a whole number")
    number = int(value)
    if not least <= number <= most:
        raise BadRequest(f"'{name}' must be between {least} and {most}")
    return number


def search_query(params: Mapping[str, str], *, limit: int | None = None, marks: tuple[str, str] = HTML_MARKS) -> SearchQuery:
    """The SearchQuery of a request's parameters (the page size from `limit` unless given)."""
    since, until = _day(params, "since"), _day(params, "until")
    if since and until and since > until:
        raise BadRequest("'since' is after 'until'")
    filters = {option: _text(params, option, LIMITS.filter_chars) for option in FACET_OPTIONS}
    return SearchQuery(
        text=_text(params, "q", LIMITS.query_chars) or "",
        since=since,
        until=until,
        limit=limit if limit is not None else bounded_int(params, "limit", LIMITS.default_page_size, 1, LIMITS.page_size),
        offset=bounded_int(params, "offset", 0, 0, LIMITS.offset),
        marks=marks,
        **filters,  # type: ignore[arg-type]
    )


def article_id(params: Mapping[str, str]) -> str:
    value = params.get("id") or ""
    if not value.strip():
        raise BadRequest("'id' is required")
    if len(value.encode("utf-8")) > MAX_ID_BYTES:
        raise BadRequest(f"'id' is longer than {MAX_ID_BYTES} bytes")
    return value


def search_params(query: SearchQuery) -> dict[str, str]:
    """The parameters that ask for `query` again (its page aside)."""
    params = {"q": query.text} if query.text else {}
    params.update(query.filters())
    if query.since:
        params["since"] = query.since.isoformat()
    if query.until:
        params["until"] = query.until.isoformat()
    return params


def link(path: str, params: Mapping[str, object] | None = None, **changes: object) -> str:
    """`path?params` with `changes` applied (None or "" removes a parameter)."""
    merged = {**(params or {}), **changes}
    kept = {name: str(value) for name, value in merged.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path

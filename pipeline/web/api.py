"""The JSON API under /api/: the same reads as the pages (pipeline.web.results), as JSON.

    /api/search   ?q=&person=&org=&place=&speaker=&source=&language=&since=&until=&limit=&offset=
    /api/facets   the same filters, &size= (values per facet)
    /api/quotes   the same filters, &limit= (quotes); grouped by speaker
    /api/article  ?id=

Errors are `{"error": "..."}` with 400 (a parameter), 404 (no such article) or 503 (the index).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from pipeline.index import Index
from pipeline.search import SearchQuery
from pipeline.web.params import LIMITS, article_id, bounded_int, search_params, search_query
from pipeline.web.results import (
    article_json,
    facets_json,
    find_quotes,
    find_stories,
    group_by_speaker,
    quote_json,
    story_json,
)

__all__ = ["search", "facets", "quotes", "article"]


def _index(request: Request) -> Index:
    return request.app.state.pool.get()


def _query_json(query: SearchQuery) -> dict[str, Any]:
    return {**search_params(query), "limit": query.limit, "offset": query.offset}


def search(request: Request) -> JSONResponse:
    query = search_query(request.query_params)
    found = find_stories(_index(request), query)
    return JSONResponse(
        {
            "query": _query_json(query),
            "total": found.total,
            "results": [story_json(story, query.marks) for story in found.stories],
        }
    )


def facets(request: Request) -> JSONResponse:
    params = request.query_params
    size = bounded_int(params, "size", LIMITS.default_facet_size, 1, LIMITS.facet_size)
    query = search_query(params, limit=LIMITS.default_page_size)
    return JSONResponse({"query": search_params(query), "facets": facets_json(_index(request).facets(query, size))})


def quotes(request: Request) -> JSONResponse:
    params = request.query_params
    limit = bounded_int(params, "limit", LIMITS.default_quotes, 1, LIMITS.quotes)
    query = search_query(params, limit=LIMITS.default_page_size)
    found = find_quotes(_index(request), query, limit)
    return JSONResponse(
        {
            "query": {**search_params(query), "limit": limit},
            "quotes": len(found),
            "speakers": [
                {"speaker": group.speaker, "quotes": [quote_json(hit) for hit in group.quotes]} for group in group_by_speaker(found)
            ],
        }
    )


def article(request: Request) -> JSONResponse:
    found = _index(request).get(article_id(request.query_params))
    if found is None:
        raise HTTPException(404, "No article has that id.")
    return JSONResponse(article_json(found))

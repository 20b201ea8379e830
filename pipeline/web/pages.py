"""The HTML pages: search results, quotes by speaker, one speaker over time, one article.

Each handler reads its parameters (pipeline.web.params), asks the index through the same
functions the API uses (pipeline.web.results) and renders a template. Starlette runs these
plain functions in its thread pool.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pipeline.article import Entity
from pipeline.index import Index
from pipeline.search import FACET_OPTIONS, Facets, SearchQuery
from pipeline.web.markup import body_passages, entity_option
from pipeline.web.params import LIMITS, article_id, bounded_int, required_text, search_params, search_query
from pipeline.web.results import find_quotes, find_stories, group_by_month, group_by_speaker
from pipeline.web.views import render

__all__ = ["search_page", "quotes_page", "speaker_page", "article_page", "SHOWN_FACETS", "MORE_FACETS"]

SHOWN_FACETS = 10  # values shown per facet
MORE_FACETS = 50  # values shown when one facet is expanded (`more=person`)


def _index(request: Request) -> Index:
    return request.app.state.pool.get()


def _more(request: Request) -> str | None:
    more = request.query_params.get("more")
    return more if more in FACET_OPTIONS else None


def _facets(index: Index, query: SearchQuery, more: str | None) -> Facets:
    # One value beyond what is shown tells the page whether to offer "more".
    return index.facets(query, MORE_FACETS if more else SHOWN_FACETS + 1)


def _page(request: Request, template: str, view: str, query: SearchQuery, index: Index, **context: object) -> HTMLResponse:
    more = _more(request)
    return render(
        request,
        template,
        view=view,
        query=query,
        params=search_params(query),
        page_params={**search_params(query), "limit": query.limit if query.limit != LIMITS.default_page_size else None},
        facets=_facets(index, query, more),
        more=more,
        shown_facets=SHOWN_FACETS,
        **context,
    )


def search_page(request: Request) -> HTMLResponse:
    query = search_query(request.query_params)
    index = _index(request)
    return _page(request, "search.html", "articles", query, index, results=find_stories(index, query))


def quotes_page(request: Request) -> HTMLResponse:
    params = request.query_params
    limit = bounded_int(params, "limit", LIMITS.default_quotes, 1, LIMITS.quotes)
    query = search_query(params, limit=LIMITS.default_page_size)
    index = _index(request)
    found = find_quotes(index, query, limit)
    return _page(request, "quotes.html", "quotes", query, index, speakers=group_by_speaker(found), found=len(found), limit=limit)


def speaker_page(request: Request) -> HTMLResponse:
    params = request.query_params
    name = required_text(params, "name", LIMITS.filter_chars)
    limit = bounded_int(params, "limit", LIMITS.quotes, 1, LIMITS.quotes)
    query = search_query(params, limit=LIMITS.default_page_size).replace(speaker=name)
    index = _index(request)
    found = [hit for hit in find_quotes(index, query, limit) if hit.quote.speaker and hit.quote.speaker.casefold() == name.casefold()]
    return render(
        request, "speaker.html", view="speaker", name=name, query=query, params=search_params(query),
        months=group_by_month(found), found=len(found), limit=limit,
    )


def article_page(request: Request) -> HTMLResponse:
    wanted = article_id(request.query_params)
    article = _index(request).get(wanted)
    if article is None:
        raise HTTPException(404, "No article has that id.")
    entities: dict[str | None, list[Entity]] = {"person": [], "org": [], "place": [], None: []}
    for entity in sorted(article.entities, key=lambda e: (-e.mentions, e.name)):
        entities[entity_option(article, entity)].append(entity)
    return render(
        request, "article.html", view="article", article=article, passages=body_passages(article), entities=entities,
        query=SearchQuery(), params={},
    )

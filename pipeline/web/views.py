"""Rendering: the Jinja2 environment (autoescaping everything), page responses, error responses.

Templates get plain values and a few helpers (`link`, `safe_link`, `snippet_pieces`); every
value they print is escaped by Jinja2, attributes included, so article text is never markup.
"""

from __future__ import annotations

from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from pipeline.search import FACET_OPTIONS, SearchQuery
from pipeline.web.markup import safe_link, snippet_pieces
from pipeline.web.params import HTML_MARKS, LIMITS, link
from pipeline.web.results import quotes_for

__all__ = ["templates", "render", "error_response", "is_api", "FACET_TITLES"]

FACET_TITLES = {
    "person": "People",
    "org": "Organizations",
    "place": "Places",
    "speaker": "Speakers",
    "source": "Sources",
    "language": "Language",
}
assert tuple(FACET_TITLES) == FACET_OPTIONS


def _snippet(snippet: str) -> list[tuple[str, bool]]:
    return snippet_pieces(snippet, HTML_MARKS)


def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        link=link,
        safe_link=safe_link,
        snippet_pieces=_snippet,
        quotes_for=quotes_for,
        MAX_OFFSET=LIMITS.offset,
        FACET_TITLES=FACET_TITLES,
        FACET_OPTIONS=FACET_OPTIONS,
    )
    return environment


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    environment: jinja2.Environment = request.app.state.templates
    html = environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """JSON `{"error": message}` under /api/, else the error page; never a traceback."""
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status_code, headers=headers)
    response = render(
        request, "error.html", status_code=status_code, status=status_code, message=message,
        view="error", query=SearchQuery(), params={},
    )
    if headers:
        response.headers.update(headers)
    return response

"""The search page's web application (Starlette): routes, security headers, errors.

    GET /                 articles: search box, facets, date range, results grouped by story
    GET /quotes           who said what: the quotes of the matches, grouped by speaker
    GET /speaker?name=N   one speaker's quotes over time
    GET /article?id=ID    one article, entities and quotes marked in its body
    GET /api/search · /api/facets · /api/quotes · /api/article   the same, as JSON
    GET /static/…         the stylesheet and the small script (package files only)

Read-only: every route answers GET (and HEAD) only. Every response carries a
Content-Security-Policy that allows this server's own stylesheet and script and nothing
else (no inline script, no other origin), and pages never frame or leak the referrer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.errors import ServiceError
from pipeline.index import Index
from pipeline.web import api, pages
from pipeline.web.params import BadRequest
from pipeline.web.pool import IndexPool
from pipeline.web.views import error_response, templates

__all__ = ["create_app", "SECURITY_HEADERS", "CONTENT_SECURITY_POLICY"]

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response (pure ASGI, so streamed files get them too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _bad_request(request: Request, exc: Exception) -> Response:
    return error_response(request, 400, str(exc))


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, exc.detail, headers=exc.headers)


def _index_error(request: Request, exc: Exception) -> Response:
    # The detail names hosts (and could name what the operator put in them): the log has it, the page does not.
    logger.warning("index unavailable path=%s reason=%r", request.url.path, str(exc))
    return error_response(request, 503, "The index is not available right now; the server's log says why.")


def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("request failed path=%s error=%s: %s", request.url.path, type(exc).__name__, exc)
    response = error_response(request, 500, "Something went wrong on the server; its log says what.")
    response.headers.update(SECURITY_HEADERS)  # this one is sent outside the middleware
    return response


def create_app(open_index: Callable[[], Index], *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The application over the index `open_index()` opens (one per worker thread).

    `allowed_hosts`: the Host header values accepted (a page bound to loopback refuses other
    names, so a web page elsewhere cannot reach it through DNS rebinding); None accepts any.
    """
    pool = IndexPool(open_index)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        pool.close()

    routes = [
        Route("/", pages.search_page, methods=["GET"], name="search"),
        Route("/quotes", pages.quotes_page, methods=["GET"], name="quotes"),
        Route("/speaker", pages.speaker_page, methods=["GET"], name="speaker"),
        Route("/article", pages.article_page, methods=["GET"], name="article"),
        Route("/api/search", api.search, methods=["GET"]),
        Route("/api/facets", api.facets, methods=["GET"]),
        Route("/api/quotes", api.quotes, methods=["GET"]),
        Route("/api/article", api.article, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("pipeline.web", "static")]), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts, www_redirect=False))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            BadRequest: _bad_request,
            HTTPException: _http_error,
            ServiceError: _index_error,
            Exception: _server_error,
        },
    )
    app.state.pool = pool
    app.state.templates = templates()
    return app

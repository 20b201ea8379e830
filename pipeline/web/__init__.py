"""The search page and its JSON API over the configured index (`newswire serve`).

    app.py      the Starlette application: routes, security headers, error pages
    pages.py    the HTML pages · api.py the JSON API · results.py the reads both share
    params.py   request parameters → SearchQuery, with limits · markup.py text → marked pieces
    views.py    Jinja2 (autoescaped) · pool.py one open index per server thread
    templates/, static/   server-rendered HTML, one stylesheet, one small script; no build step

It sits between the commands and the runtimes: `newswire serve` hands it a function that
opens the configured index (pipeline.runtime.indexes), and everything else goes through the
`pipeline.index.Index` contract, so the embedded index and Elasticsearch serve the same page.
"""

from pipeline.web.app import create_app

__all__ = ["create_app"]

"""The canonical URL of an article link, and the article id that follows from it.

One article reaches newswire through many doors: a "top stories", a "world" and a "politics"
feed, each link carrying `?utm_source=rss`, the `www.` or `m.` host, an AMP page, a trailing
slash, a fragment or a session id. `canonical_url()` maps all of them to one string, so that
the article id made from it (`article_id_for()`) is the same whichever door it came through.

The generic RFC 3986 part (case of scheme and host, default ports, percent-encoding, dot
segments, IDNA hosts) is url-normalize's; what is news-specific is done here on top of it:

- tracking and session parameters listed in `tracking_parameters.txt` are dropped; every other
  parameter is kept (sorted), since `?id=123`, `?p=456` or `?story=` select the article;
- `www.`, `m.`, `mobile.` and `amp.` hosts become the bare host; `http` becomes `https`;
- AMP pages become the page they render: Google's AMP cache (`*.cdn.ampproject.org/c/s/...`),
  a trailing or leading `/amp` path segment (WordPress, many news CMSs), `.amp.html`, a `.amp`
  suffix (BBC) and the `?amp`, `?amp=1`, `?outputType=amp` switches;
- fragments, `;jsessionid=` path parameters, user info and trailing slashes go (url-normalize
  keeps a `#!` route, as its `?_escaped_fragment_=` query).

The canonical URL is an identity key, not a link to follow: the article keeps its `url` as given.
A core module: connectors reach it through `pipeline.plugin`, the indexes (which store
`canonical_url` to find an article indexed under an older id) import it directly.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib import resources
from urllib.parse import unquote, urlsplit, urlunsplit

from url_normalize import url_normalize

from pipeline.article import fit_id

__all__ = ["canonical_url", "article_id_for", "tracking_parameters", "is_tracking_parameter"]

logger = logging.getLogger(__name__)

_ALIAS_HOST_LABELS = ("www", "m", "mobile", "amp")
_AMP_CACHE = re.compile(r"^/[a-z]/(?:(s)/)?([^/]+\.[^/]+/.*|[^/]+\.[^/]+)$")
_PATH_SESSION = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)
_AMP_SWITCHES = {("amp", ""), ("amp", "1"), ("amp", "true"), ("outputtype", "amp"), ("_amp", "true")}


@lru_cache(maxsize=1)
def tracking_parameters() -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact names, name prefixes) from tracking_parameters.txt, lowercased; read once."""
    text = resources.files("pipeline").joinpath("tracking_parameters.txt").read_text(encoding="utf-8")
    names, prefixes = set(), []
    for line in text.splitlines():
        name = line.split("#", 1)[0].strip().lower()
        if name.endswith("*"):
            prefixes.append(name[:-1])
        elif name:
            names.add(name)
    return frozenset(names), tuple(prefixes)


def is_tracking_parameter(name: str) -> bool:
    """True when a query parameter named `name` never selects an article (tracking or session id)."""
    names, prefixes = tracking_parameters()
    key = unquote(name).strip().lower()
    return key in names or key.startswith(prefixes)


def canonical_url(url: str | None) -> str | None:
    """The one URL every variant of this article link maps to; None when it is not an http(s) URL."""
    text = (url or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    text = _unwrap_amp_cache(text)
    try:
        parts = urlsplit(url_normalize(text))
        host = parts.hostname or ""
        port = parts.port
    except (ValueError, UnicodeError) as e:  # a host IDNA rejects, a port that is not a number
        logger.debug("url not canonicalised url=%r reason=%s", text[:200], e)
        return None
    if not host:
        return None
    netloc = _canonical_host(host) + (f":{port}" if port and port not in (80, 443) else "")
    path = _canonical_path(parts.path)
    query = _canonical_query(parts.query)
    return urlunsplit(("https", netloc, path, query, ""))


def article_id_for(*, url: str | None = None, guid: str | None = None, feed_url: str | None = None) -> str | None:
    """The stable id of a feed entry: its canonical link; without one, its GUID; else None.

    A GUID that is itself an http(s) URL (a permalink) is canonicalised like a link. A URI GUID
    (`urn:`, `tag:`) is used as it is; a bare GUID such as `42` is qualified by the feed URL
    (`<feed_url>#42`) so that two feeds cannot collide. Ids are cut to the size
    Elasticsearch accepts (`fit_id`).
    """
    for candidate in (url, guid):
        link = canonical_url(candidate)
        if link:
            return fit_id(link)
    guid = (guid or "").strip()
    if not guid:
        return None
    if len(urlsplit(guid).scheme) > 1:
        return fit_id(guid)
    if feed_url:
        return fit_id(f"{feed_url.strip()}#{guid}")
    return fit_id(guid)


def _unwrap_amp_cache(text: str) -> str:
    """`https://www-example-com.cdn.ampproject.org/c/s/www.example.com/a` → `https://www.example.com/a`."""
    parts = urlsplit(text)
    if not (parts.hostname or "").endswith(".cdn.ampproject.org"):
        return text
    match = _AMP_CACHE.match(parts.path)
    if not match:
        return text
    inner = ("https://" if match.group(1) else "http://") + match.group(2)
    return inner + (f"?{parts.query}" if parts.query else "")


def _canonical_host(host: str) -> str:
    labels = host.lower().rstrip(".").split(".")
    while len(labels) > 2 and labels[0] in _ALIAS_HOST_LABELS:
        labels = labels[1:]
    return ".".join(labels)


def _canonical_path(path: str) -> str:
    """The path without `;jsessionid=`, AMP markers, empty segments and the trailing slash."""
    path = _PATH_SESSION.sub("", path)
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1].lower() == "amp":
        segments = segments[:-1]
    elif segments and segments[0].lower() == "amp" and len(segments) > 1:
        segments = segments[1:]
    if segments:
        last = segments[-1]
        if last.lower().endswith(".amp.html"):
            segments[-1] = last[: -len(".amp.html")] + ".html"
        elif last.lower().endswith(".amp") and len(last) > len(".amp"):
            segments[-1] = last[: -len(".amp")]
    return "/" + "/".join(segments)


def _canonical_query(query: str) -> str:
    """The query without tracking parameters and AMP switches, its pairs sorted."""
    kept = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        switch = (unquote(name).lower(), unquote(value).lower()) in _AMP_SWITCHES
        if pair and not switch and not is_tracking_parameter(name):
            kept.append(pair)
    return "&".join(sorted(kept))

"""The rss connector: RSS 0.9x, 1.0, 2.0 and Atom feeds, fetched politely, parsed by feedparser.

A good feed citizen: conditional GET (ETag / Last-Modified kept in the checkpoint) and a hash
of the body beside them (an unchanged body is a no-op without parsing; a server that keeps
its ETag while the content changes is caught at the unconditional fetch made after every
`REVALIDATE_AFTER` answers of 304, and from then on only the hash is trusted), a permanent
redirect remembered as the new feed URL, and politeness per host name (pipeline.plugin.hosts).
When it is polled is the fleet's business (pipeline.feeds.schedule): a read tells it what it
found in `poll_report`, with the feed's `<ttl>` / `sy:updatePeriod` and the answer's
`Cache-Control: max-age` as the least interval the feed asks for; a source failure is raised.

Ids (`article_id_for`): the entry's canonical link, so the same article listed by several
feeds, with tracking parameters, a `www.`/`m.` host or an AMP form, is one id; without a link
the guid / Atom id (a bare guid such as `42` qualified by the feed URL, `<url>#42`, so two
feeds cannot collide); without either a hash of title and date. When the full text is
fetched, the page's own `rel=canonical` names the article instead, if it is a page of the
same site (a cross-site canonical is a syndicated copy: story grouping joins it, not the id).
The checkpoint keeps the last `seen_ids` ids with the entry's `updated` (else `published`)
date: a restart re-emits nothing, and an entry whose date moved is re-emitted under the
same id (the sink keeps the newest version). Content edits that keep the date are not.
Each entry's record carries its own `seen` change; the validators ride on a last record
after every entry, so a read cut short keeps the rest of the feed for next time.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import feedparser
from pydantic import Field, SecretStr, model_validator
from trafilatura.feeds import FeedParameters, determine_feed

from pipeline.plugin import (
    MAX_INTERVAL, Article, Connector, ConnectorOptions, DeadLetter, Fetcher, FetchResult, HttpUrl, PollReport, Prefetch,
    Record, Source, SourceError, SourceRejected, Yielded, article_id_for, canonical_url, extract_page, fit_id, host_of,
    html_to_text, redact, tidy_text,
)

__all__ = ["RssConnector", "RssOptions", "feed_interval"]

logger = logging.getLogger(__name__)

MAX_FEED_TTL = 24 * 3600.0
# Bodies become plain text (html_to_text) and links are resolved here, so feedparser's own HTML
# sanitizer and relative-URI rewriting of content would be work thrown away.
PARSE_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}
REVALIDATE_AFTER = 6  # after this many 304s in a row, fetch without validators and compare the body hash
BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
HTML_TYPES = ("text/html", "application/xhtml+xml")
SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}


class RssOptions(ConnectorOptions):
    url: HttpUrl
    interval: float = Field(default=300.0, gt=0, le=MAX_INTERVAL, allow_inf_nan=False)
    fetch_full_text: bool = False
    username: str | None = None
    password: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    max_entries: int | None = Field(default=None, ge=1)
    host_delay: float = Field(default=1.0, ge=0, le=3600, allow_inf_nan=False)
    seen_ids: int = Field(default=5000, ge=1)

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> "RssOptions":
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


def _detail_text(detail: Any) -> str:
    value = detail.get("value") or ""
    kind = (detail.get("type") or "text/plain").lower()
    return html_to_text(value) if "html" in kind else tidy_text(value)


def feed_interval(feed: Any) -> float | None:
    """Seconds the feed asks between polls: `<ttl>` minutes, or sy:updatePeriod / updateFrequency."""
    try:
        if feed.get("ttl"):
            return min(float(feed["ttl"]) * 60, MAX_FEED_TTL)
        period = SY_PERIODS.get(str(feed.get("sy_updateperiod", "")).strip().lower())
        if period:
            return min(period / max(float(feed.get("sy_updatefrequency") or 1), 1.0), MAX_FEED_TTL)
    except (TypeError, ValueError):
        return None
    return None


def _date(entry: Any, key: str) -> datetime | None:
    parsed = dict.get(entry, f"{key}_parsed")  # dict.get: no feedparser fallback from updated to published
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


class RssConnector(Connector):
    """Reads one RSS or Atom feed; see the module docstring for ids, dedup and politeness."""

    type = "rss"
    Options = RssOptions
    options: RssOptions
    adaptive = True

    def __init__(self, name: str, options: RssOptions, context: Any) -> None:
        super().__init__(name, options, context)
        self._fetcher: Fetcher | None = None
        self._feed_ttl: float | None = None
        self._prefetched: Prefetch | None = None

    @classmethod
    def options_for_source(cls, source: str) -> dict | None:
        return {"url": source} if urlsplit(source).scheme.lower() in ("http", "https") else None

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.context.limits, host_delay=self.options.host_delay)
        return self._fetcher

    @property
    def feed_url(self) -> str:
        """The URL to fetch: the configured one, or where it permanently moved to."""
        if self.checkpoint.get("configured_url") != self.configured_url:
            return self.configured_url
        return self.checkpoint.get("url") or self.configured_url

    @property
    def configured_url(self) -> str:
        """The configured URL without any user:password (those go into the Authorization header)."""
        return redact(self.options.url)

    @property
    def host(self) -> str | None:
        return host_of(self.feed_url) or None

    @property
    def requested_interval(self) -> float | None:
        """The least seconds between polls the feed asks for: its `<ttl>` or the answer's max-age."""
        ttl = self._feed_ttl if self._feed_ttl is not None else self.checkpoint.get("ttl")
        return max(ttl or 0.0, self.checkpoint.get("max_age") or 0.0) or None

    @property
    def interval(self) -> float:
        ttl = self._feed_ttl if self._feed_ttl is not None else self.checkpoint.get("ttl")
        return max(self.options.interval, ttl or 0.0)

    def setup(self) -> None:
        self.fetcher  # noqa: B018 (opens the client; the URL was checked by RssOptions)

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None

    def read(self) -> Iterator[Yielded]:
        self.poll_report = None
        yield from self._read()

    def _auth(self, url: str) -> tuple[str, str] | None:
        """Basic-auth credentials (options, else user:password in the URL), only for the feed's own host."""
        if self.options.username is not None and self.options.password is not None:
            credentials = (self.options.username, self.options.password.get_secret_value())
        else:
            parts = urlsplit(self.options.url)
            if parts.username is None:
                return None
            credentials = (unquote(parts.username), unquote(parts.password or ""))
        return credentials if _host(url) in (_host(self.feed_url), _host(self.configured_url)) else None

    def _conditional(self, known: bool) -> bool:
        """Send validators? Not for a new URL, not to a server caught lying, not at every REVALIDATE_AFTER-th poll."""
        trusted = self.checkpoint.get("validators") is not False
        return known and trusted and int(self.checkpoint.get("not_modified") or 0) < REVALIDATE_AFTER

    def _request(self) -> dict[str, Any]:
        """What the next poll asks for: the feed URL, validators unless not to be sent, headers, credentials."""
        url = self.feed_url
        conditional = self._conditional(self.checkpoint.get("configured_url") == self.configured_url)
        return {
            "url": url,
            "etag": self.checkpoint.get("etag") if conditional else None,
            "last_modified": self.checkpoint.get("last_modified") if conditional else None,
            "headers": self.options.headers,
            "auth": self._auth(url),
        }

    def prefetch(self) -> Prefetch:
        """Start the feed's request now (the fleet reads the answer once it is in)."""
        self._prefetched = self.fetcher.start(**self._request())
        return self._prefetched

    def _read(self) -> Iterator[Yielded]:
        url = self.feed_url
        known = self.checkpoint.get("configured_url") == self.configured_url
        pending, self._prefetched = self._prefetched, None
        result = pending.result() if pending is not None else self.fetcher.get(**self._request())
        if result.moved_to:
            logger.info("feed moved permanently connector=%s from=%s to=%s", self.name, redact(url), redact(result.moved_to))
            url = result.moved_to
        if result.not_modified:
            logger.debug("feed not modified connector=%s url=%s", self.name, redact(url))
            yield self._unchanged(url, result, {"not_modified": int(self.checkpoint.get("not_modified") or 0) + 1})
            return
        digest = hashlib.sha256(result.content).hexdigest()
        if known and digest == self.checkpoint.get("body_hash"):
            logger.debug("feed body unchanged connector=%s url=%s", self.name, redact(url))
            yield self._unchanged(url, result, {"not_modified": 0, **self._stored_validators(result)})
            return
        parsed = self._parse(result)
        self._feed_ttl = feed_interval(parsed.feed)
        entries = parsed.entries[: self.options.max_entries] if self.options.max_entries else parsed.entries
        yield from self._malformed(parsed, result)
        yield from self._entries(parsed, url)
        change = {**self._validators(url, result), "ttl": self._feed_ttl, "body_hash": digest, "not_modified": 0}
        if known and self._lied(result, digest):
            logger.info("feed kept its ETag for a changed body; trusting only the body hash connector=%s url=%s",
                        self.name, redact(url))
            change["validators"] = False
        self.poll_report = PollReport(listed=len(entries), requested_interval=self._requested(result))
        yield Record(checkpoint=change)

    def _lied(self, result: FetchResult, digest: str) -> bool:
        """The same ETag as last time for a different body: the server's validators cannot be trusted."""
        stored = self.checkpoint.get("etag")
        return bool(stored and result.etag == stored and self.checkpoint.get("body_hash") not in (None, digest))

    def _unchanged(self, url: str, result: FetchResult, extra: dict[str, Any]) -> Record:
        """A 304, or the very same body: nothing to parse, only the URL, the counters and the max-age change."""
        self.poll_report = PollReport(not_modified=True, requested_interval=self._requested(result))
        return Record(checkpoint={**self._validators(url, result), **extra})

    def _requested(self, result: FetchResult) -> float | None:
        ttl = self._feed_ttl if self._feed_ttl is not None else self.checkpoint.get("ttl")
        return max(ttl or 0.0, result.max_age or 0.0) or None

    def _stored_validators(self, result: FetchResult) -> dict[str, Any]:
        return {"etag": result.etag, "last_modified": result.last_modified}

    def _validators(self, url: str, result: FetchResult) -> dict[str, Any]:
        """The feed's URL and validators: carried last, after every entry, so a partial read does not skip the rest."""
        change: dict[str, Any] = {"configured_url": self.configured_url, "url": url, "max_age": result.max_age}
        if not result.not_modified:
            change.update(self._stored_validators(result))
        return change

    def _parse(self, result: FetchResult) -> Any:
        headers = {"content-location": result.url, "content-type": result.headers.get("content-type", "application/xml")}
        parsed = feedparser.parse(io.BytesIO(result.content), response_headers=headers, **PARSE_OPTIONS)
        if parsed.get("version") or parsed.entries:
            return parsed
        shown = redact(result.url)
        head = result.content[:1024].lstrip().lower()
        if result.content_type in HTML_TYPES or head.startswith((b"<!doctype html", b"<html")):
            found = _discover_feed(result)
            hint = f" (the page links to a feed: {found})" if found else ""
            raise SourceRejected(f"{shown} is an HTML page, not a feed{hint}")
        reason = _one_line(parsed.get("bozo_exception")) or "no RSS or Atom elements"
        raise SourceRejected(f"{shown} is not an RSS or Atom feed: {reason}")

    def _malformed(self, parsed: Any, result: FetchResult) -> Iterator[Record]:
        problem = parsed.get("bozo_exception")
        if not parsed.get("bozo") or isinstance(problem, BENIGN_BOZO):
            return
        digest = hashlib.sha256(result.content).hexdigest()
        if self.checkpoint.get("malformed") == digest:
            return  # the same broken document was reported already
        reason = f"malformed feed, recovered {len(parsed.entries)} entries: {_one_line(problem)}"
        logger.warning("malformed feed connector=%s url=%s reason=%s", self.name, redact(result.url), reason)
        payload = result.content if len(result.content) <= self.context.limits.max_body_bytes else None
        letter = DeadLetter.of("connector", reason, payload, connector=self.type, name=self.name, feed=redact(result.url))
        yield Record(letter, {"malformed": digest})

    def _entries(self, parsed: Any, url: str) -> Iterator[Yielded]:
        """New and changed entries; each one's last record carries `{"seen": {id: date}}` and any ids it evicts."""
        entries = parsed.entries[: self.options.max_entries] if self.options.max_entries else parsed.entries
        in_feed = [self._entry_id(entry, url) for entry in entries]
        listed = set(in_feed)
        seen: dict[str, str] = dict(self.checkpoint.get("seen") or {})
        limit = max(self.options.seen_ids, len(listed))
        evictable = iter([old for old in seen if old not in listed])  # oldest first, never one still listed
        handled: set[str] = set()
        for entry, entry_id in zip(entries, in_feed):
            if entry_id in handled:
                continue  # the same entry twice in one feed
            handled.add(entry_id)
            fingerprint = dict.get(entry, "updated") or dict.get(entry, "published") or ""
            if seen.get(entry_id) == fingerprint:
                continue
            change: dict[str, Any] = {entry_id: fingerprint}
            seen[entry_id] = fingerprint
            while len(seen) > limit:
                evicted = next(evictable)
                del seen[evicted]
                change[evicted] = None
            records = self._records(entry, entry_id, parsed, url)
            yield from records[:-1]
            yield Record(records[-1], {"seen": change})

    def _entry_id(self, entry: Any, url: str) -> str:
        return fit_id(self._raw_entry_id(entry, url))

    def _raw_entry_id(self, entry: Any, url: str) -> str:
        link = (entry.get("link") or "").strip()
        found = article_id_for(url=urljoin(url, link) if link else None, guid=entry.get("id"), feed_url=self.configured_url)
        if found:
            return found
        basis = f"{entry.get('title', '')}\x00{dict.get(entry, 'published') or dict.get(entry, 'updated') or ''}"
        return f"{self.configured_url}#sha256:{hashlib.sha256(basis.encode('utf-8')).hexdigest()[:24]}"

    def _records(self, entry: Any, entry_id: str, parsed: Any, url: str) -> list[Article | DeadLetter]:
        candidates = list(entry.get("content") or [])
        if entry.get("summary_detail"):
            candidates.append(entry["summary_detail"])
        bodies = [_detail_text(detail) for detail in candidates]
        body = max(bodies, key=len, default="")
        title_detail = entry.get("title_detail") or {"value": entry.get("title", ""), "type": "text/plain"}
        authors = [a.get("name") or a.get("email") or "" for a in entry.get("authors") or []]
        link = entry.get("link")
        try:
            article = Article(
                id=entry_id,
                title=" ".join(_detail_text(title_detail).split()),
                body=body,
                url=urljoin(url, link) if link else None,
                published_at=_date(entry, "published") or _date(entry, "updated"),
                fetched_at=datetime.now(timezone.utc),
                language=entry.get("language") or parsed.feed.get("language"),
                authors=_unique(authors or [entry.get("author", "")]),
                categories=_unique([t.get("term") or t.get("label") or "" for t in entry.get("tags") or []]),
                source=Source(connector=self.type, name=self.name, feed=redact(url)),
            )
        except ValueError as e:  # pydantic's ValidationError is a ValueError
            return [self._dead(entry_id, f"entry is not a valid article: {_one_line(e)}", entry)]
        failure = self._full_text(article) if self.options.fetch_full_text and article.url else None
        records: list[Article | DeadLetter] = [failure] if failure is not None else []
        limit = self.context.limits.max_body_bytes
        if len(article.body.encode("utf-8", "surrogatepass")) > limit:
            return records + [self._dead(entry_id, f"body is over the limit of {limit} bytes", None)]
        return [article, *records]

    def _full_text(self, article: Article) -> DeadLetter | None:
        """Replace the body with the article page's main text; on failure keep the feed's and report it."""
        assert article.url is not None
        try:
            result = self.fetcher.get(article.url, auth=self._auth(article.url))
            if result.content_type and result.content_type not in HTML_TYPES:
                raise SourceRejected(f"not an HTML page ({result.content_type})")
            page = extract_page(result.content, result.url)
            if page is None:
                raise SourceRejected("no article text found on the page")
        except SourceError as e:
            reason = f"full text not fetched, kept the feed's content: {e}"
            logger.warning("full text failed connector=%s url=%s reason=%s", self.name, redact(article.url), e)
            return self._dead(article.id, reason, None, stage="fetch", url=redact(article.url))
        article.id = _page_article_id(article.id, result.url, page.canonical)
        article.body = page.text
        article.authors = article.authors or page.authors
        article.published_at = article.published_at or page.published_at
        article.language = article.language or page.language
        return None

    def _dead(self, entry_id: str, reason: str, entry: Any, stage: str = "connector", **extra: Any) -> DeadLetter:
        payload = None
        if entry is not None:
            payload = json.dumps({k: v for k, v in entry.items() if not k.endswith("_parsed")}, default=str)
        return DeadLetter.of(stage, reason, payload, article_id=entry_id, connector=self.type, name=self.name,
                             feed=redact(self.feed_url), **extra)


def _page_article_id(link_id: str, page_url: str, canonical: str | None) -> str:
    """The id of a fetched article page: its `rel=canonical` when that is an article of the same site, else `link_id`.

    Same site: the hosts match once `www.`/`m.` are dropped, or one is a subdomain of the
    other. A canonical link to the site's home page (a common template mistake) is ignored.
    """
    named, fetched = canonical_url(canonical), canonical_url(page_url)
    if not named or not fetched:
        return link_id
    named_parts, fetched_parts = urlsplit(named), urlsplit(fetched)
    host, page_host = named_parts.hostname or "", fetched_parts.hostname or ""
    same_site = host == page_host or host.endswith("." + page_host) or page_host.endswith("." + host)
    if not same_site or (named_parts.path in ("", "/") and not named_parts.query):
        return link_id
    return article_id_for(url=named) or link_id


def _discover_feed(result: FetchResult) -> str | None:
    """The first feed an HTML page advertises (trafilatura's feed discovery, without fetching anything)."""
    html = result.content.decode("utf-8", "replace")
    found = determine_feed(html, FeedParameters(result.url, urlsplit(result.url).hostname or "", result.url))
    return found[0] if found else None


def _host(url: str) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port
    except ValueError:  # an item link with a port out of range or a broken IPv6 literal: no credentials for it
        return None, -1


def _one_line(problem: object) -> str:
    return "" if problem is None else (" ".join(str(problem).split())[:300] or type(problem).__name__)

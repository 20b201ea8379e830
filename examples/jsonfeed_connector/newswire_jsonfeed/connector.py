"""The jsonfeed connector: JSON Feed 1.1 (and 1.0) over HTTP, politely, with a checkpoint.

Everything it uses comes from `pipeline.plugin`, newswire's one module for connector authors:
the `Fetcher` (timeouts, size limit, conditional GET, Retry-After, one request at a time per
host), `html_to_text`, the records and the errors. Ids are the items' own `id`s (required by
the spec), qualified by the feed URL unless they are URIs; an item is re-emitted when its
`date_modified` moves. Each article's Record carries its `seen` change, and a last Record the
feed's validators: newswire commits them once the articles are safe downstream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import Field

from pipeline.plugin import Article, Connector, ConnectorOptions, DeadLetter, Fetcher, HttpUrl, Record, Source, SourceRejected, html_to_text

__all__ = ["JsonFeedConnector", "JsonFeedOptions"]

logger = logging.getLogger(__name__)

SEEN_IDS = 5000


class JsonFeedOptions(ConnectorOptions):
    """The `jsonfeed` config block: `url`, plus `interval` and `host_delay` in seconds."""

    url: HttpUrl
    interval: float = Field(default=600.0, gt=0)
    host_delay: float = Field(default=1.0, ge=0)


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class JsonFeedConnector(Connector):
    """Reads one JSON Feed; registered by its package's entry point, not by `@register`."""

    type = "jsonfeed"
    Options = JsonFeedOptions
    options: JsonFeedOptions

    def __init__(self, name: str, options: JsonFeedOptions, context: Any) -> None:
        super().__init__(name, options, context)  # cheap: no I/O here
        self._fetcher: Fetcher | None = None

    @classmethod
    def options_for_source(cls, source: str) -> dict | None:
        # Only claim what is clearly ours, so `newswire fetch URL` still picks rss for other feeds.
        parts = urlsplit(source)
        if parts.scheme in ("http", "https") and parts.path.endswith(".json"):
            return {"url": source}
        return None

    def setup(self) -> None:
        self._fetcher = Fetcher(self.context.limits, host_delay=self.options.host_delay)

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()

    def read(self) -> Iterator[Article | DeadLetter | Record]:
        assert self._fetcher is not None, "setup() first"
        url = self.options.url
        result = self._fetcher.get(url, etag=self.checkpoint.get("etag"), last_modified=self.checkpoint.get("last_modified"))
        if result.not_modified:
            return
        try:
            feed = json.loads(result.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SourceRejected(f"{url} is not JSON: {e}") from None
        if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith("https://jsonfeed.org/version/"):
            raise SourceRejected(f"{url} is not a JSON Feed (no jsonfeed.org version)")
        seen: dict[str, str] = dict(self.checkpoint.get("seen") or {})
        order = list(seen)  # oldest first
        for number, item in enumerate(feed.get("items") or [], start=1):
            record = self._article(item, url, number)
            if not isinstance(record, Article):
                yield record
                continue
            fingerprint = str(item.get("date_modified") or item.get("date_published") or "")
            if seen.get(record.id) == fingerprint:
                continue
            change: dict[str, Any] = {record.id: fingerprint}
            if record.id not in seen:
                order.append(record.id)
            seen[record.id] = fingerprint
            while len(order) > SEEN_IDS:
                change[order.pop(0)] = None  # None removes an id (a JSON merge patch)
            yield Record(record, {"seen": change})  # committed by newswire once the article is delivered
        yield Record(checkpoint={"etag": result.etag, "last_modified": result.last_modified})

    def _article(self, item: Any, url: str, number: int) -> Article | DeadLetter:
        if not isinstance(item, dict) or not str(item.get("id") or "").strip():
            return DeadLetter.of("connector", f"item {number} has no id", json.dumps(item),
                                 connector=self.type, name=self.name, feed=url)
        item_id = str(item["id"]).strip()
        if len(urlsplit(item_id).scheme) <= 1:
            item_id = f"{url}#{item_id}"
        if item.get("content_html"):
            body = html_to_text(item["content_html"])
        else:
            body = str(item.get("content_text") or item.get("summary") or "").strip()
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        link = item.get("url") or item.get("external_url")
        return Article(
            id=item_id,
            title=str(item.get("title") or ""),
            body=body,
            url=urljoin(url, link) if link else None,
            published_at=_date(item.get("date_published")) or _date(item.get("date_modified")),
            fetched_at=datetime.now(timezone.utc),
            language=item.get("language"),
            authors=[a["name"] for a in authors if isinstance(a, dict) and a.get("name")],
            categories=[str(t) for t in item.get("tags") or []],
            source=Source(connector=self.type, name=self.name, feed=url),
        )

"""Hostile input, one source claiming another's article (issue 13, meeting issue 15's `sources`).

A folder drops a JSON file that claims a feed article's id, names the feed as its source and
dates itself a century ahead; a second feed lists another outlet's link (and a GUID that is
that link). Each ends `joined`: the claimant is listed in `sources`, the owner's content,
version and story stay; the owner's own next version still replaces it. The embedded default,
the real runtime, a loopback feed server.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

from pipeline.index.embedded import EmbeddedIndex
from pipeline.plugin import FeedServer, Reply
from pipeline.runtime.embedded import EmbeddedRuntime
from pipeline.runtime.indexes import index_path
from pipeline.search import SearchQuery
from pipeline.settings import load_settings
from tests.conftest import FakeEnricher

LINK = "https://owner.example/news/harbour-strike-ends"
BODY = "Dock workers in Valletta ended their strike on Tuesday after Maria Lopez announced a new wage offer."
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def feed(title: str, link: str, updated: datetime, guid: str = "") -> bytes:
    guid_element = f"<guid isPermaLink='false'>{escape(guid)}</guid>" if guid else ""
    return (f"<rss version='2.0'><channel><title>Feed</title><item><title>{escape(title)}</title>"
            f"<link>{escape(link)}</link>{guid_element}<description>{escape(BODY)} {escape(title)}</description>"
            f"<pubDate>{format_datetime(updated)}</pubDate></item></channel></rss>").encode()


def run(tmp_path, connectors):
    config = tmp_path / "newswire.yaml"
    config.write_text(json.dumps({"data_dir": str(tmp_path / "data"), "connectors": connectors}), encoding="utf-8")
    settings = load_settings(config)
    report = EmbeddedRuntime(settings, enricher=FakeEnricher()).run(once=True)
    return settings, report


def stored(settings):
    with EmbeddedIndex(index_path(settings)) as index:
        return index.get(LINK), index.count(), [h.article.id for h in index.search(SearchQuery(text="forged"))]


def test_no_source_can_overwrite_another_sources_article(tmp_path):
    t0 = datetime(2024, 5, 3, 6, 0, tzinfo=timezone.utc)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    with FeedServer() as server:
        server.route("/owner.xml", Reply(body=feed("Harbour strike ends", LINK, t0), headers=RSS))
        server.route("/mirror.xml", Reply(body=feed("Forged headline", LINK + "?utm_source=mirror", t0 + timedelta(days=1), guid=LINK),
                                          headers=RSS))
        owner = {"type": "rss", "name": "owner", "url": server.url("/owner.xml")}
        mirror = {"type": "rss", "name": "mirror", "url": server.url("/mirror.xml")}
        files = {"type": "files", "name": "uploads", "path": str(uploads)}

        settings, _ = run(tmp_path, [owner])
        original, _, _ = stored(settings)
        assert original is not None and original.title == "Harbour strike ends"

        # A file claiming the id, the owner's source and a far-future fetch time; a feed listing the owner's link.
        claim = {"id": LINK, "title": "Forged headline", "body": "Forged body with forged claims.", "url": LINK,
                 "fetched_at": "2124-01-01T00:00:00Z", "source": {"connector": "rss", "name": "owner"}}
        (uploads / "claim.json").write_text(json.dumps(claim), encoding="utf-8")
        settings, report = run(tmp_path, [owner, mirror, files])
        assert report.dead == 0
        article, count, forged_hits = stored(settings)
        assert count == 1 and forged_hits == []
        assert (article.title, article.body, article.fetched_at) == (original.title, original.body, original.fetched_at)
        assert article.source.name == "owner"
        assert [(s.connector, s.name) for s in article.sources] == [("rss", "owner"), ("rss", "mirror"), ("files", "uploads")]

        # The owner's own next version still replaces it.
        server.route("/owner.xml", Reply(body=feed("Harbour strike ends, ships sail", LINK, t0 + timedelta(hours=2)), headers=RSS))
        settings, _ = run(tmp_path, [owner, mirror, files])
        article, count, _ = stored(settings)
        assert count == 1 and article.title == "Harbour strike ends, ships sail"
        assert len(article.sources) == 3

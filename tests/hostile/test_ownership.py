"""Class 4, the ownership part: one source claiming another's article (issue 15's `sources`).

A folder drops a JSON file claiming a feed article's id, naming the feed as its source and
dating itself a century ahead; a second feed lists the owner's link (with a GUID that is that
link). Each only joins: it is listed in `sources`, and the owner's content, version and story
stay; the owner's own next version still replaces it. Held to the suite's property
(`harness.check_contained`): the real embedded runtime, a loopback feed server.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

from pipeline.plugin import FeedServer, Reply
from tests.hostile.harness import Embedded, check_contained

LINK = "https://owner.example/news/harbour-strike-ends"
BODY = "Dock workers in Valletta ended their strike on Tuesday after Maria Lopez announced a new wage offer."
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
T0 = datetime(2024, 5, 3, 6, 0, tzinfo=timezone.utc)


def feed(title: str, link: str, updated: datetime, guid: str = "") -> bytes:
    guid_element = f"<guid isPermaLink='false'>{escape(guid)}</guid>" if guid else ""
    return (f"<rss version='2.0'><channel><title>Feed</title><item><title>{escape(title)}</title>"
            f"<link>{escape(link)}</link>{guid_element}<description>{escape(BODY)} {escape(title)}</description>"
            f"<pubDate>{format_datetime(updated)}</pubDate></item></channel></rss>").encode()


def test_no_source_can_overwrite_another_sources_article(tmp_path):
    uploads = tmp_path / "uploads"
    for folder in (uploads, tmp_path / "first", tmp_path / "every"):
        folder.mkdir()
    with FeedServer() as server:
        server.route("/owner.xml", Reply(body=feed("Harbour strike ends", LINK, T0), headers=RSS))
        server.route("/mirror.xml", Reply(body=feed("Forged headline", LINK + "?utm_source=mirror", T0 + timedelta(days=1), guid=LINK),
                                          headers=RSS))
        owner = {"type": "rss", "name": "owner", "url": server.url("/owner.xml")}
        mirror = {"type": "rss", "name": "mirror", "url": server.url("/mirror.xml")}
        files = {"type": "files", "name": "uploads", "path": str(uploads)}

        first = Embedded(tmp_path / "first", [owner], data_dir=str(tmp_path / "data"))
        check_contained(first.run(), index=first.indexed(), indexed=[LINK])
        original = first.indexed()[LINK]
        assert original.title == "Harbour strike ends"

        # A file claiming the id, the owner's source and a far-future fetch time; a feed listing the owner's link.
        claim = {"id": LINK, "title": "Forged headline", "body": "Forged body with forged claims.", "url": LINK,
                 "fetched_at": "2124-01-01T00:00:00Z", "source": {"connector": "rss", "name": "owner"}}
        (uploads / "claim.json").write_text(json.dumps(claim), encoding="utf-8")
        every = Embedded(tmp_path / "every", [owner, mirror, files], data_dir=str(tmp_path / "data"))
        outcome = every.run()
        check_contained(outcome, letters=every.letters(), index=every.indexed(), indexed=[LINK])
        assert outcome.value["dead"] == 0
        stored = every.indexed()
        assert list(stored) == [LINK], "one document"
        article = stored[LINK]
        assert (article.title, article.body, article.fetched_at) == (original.title, original.body, original.fetched_at)
        assert article.source.name == "owner"
        sources = [(s.connector, s.name) for s in article.sources]  # the fleet reads them concurrently: joined in any order
        assert sources[0] == ("rss", "owner") and sorted(sources[1:]) == [("files", "uploads"), ("rss", "mirror")]

        # The owner's own next version still replaces it.
        server.route("/owner.xml", Reply(body=feed("Harbour strike ends, ships sail", LINK, T0 + timedelta(hours=2)), headers=RSS))
        check_contained(every.run())
        article = every.indexed()[LINK]
        assert article.title == "Harbour strike ends, ships sail" and len(article.sources) == 3

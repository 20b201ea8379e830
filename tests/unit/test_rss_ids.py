"""Article ids from feeds: the canonical link (a GUID only without one), and a fetched page's rel=canonical."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from pipeline.plugin import FeedServer, Reply, articles_only, connector_for_test, read_all
from tests.unit.test_urls import ARTICLE, VARIANTS

RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def rss(server: FeedServer, tmp_path: Path, path: str, name: str = "test", **options):
    return connector_for_test("rss", {"url": server.url(path), "host_delay": 0, **options}, tmp_path / name, name=name)


def item(title: str, link: str = "", guid: str = "") -> str:
    parts = [f"<title>{escape(title)}</title>", "<description>Teaser.</description>"]
    if link:
        parts.append(f"<link>{escape(link)}</link>")
    if guid:
        parts.append(f"<guid isPermaLink='false'>{escape(guid)}</guid>")
    return f"<item>{''.join(parts)}</item>"


def feed(*items: str) -> bytes:
    return f"<rss version='2.0'><channel><title>Feed</title>{''.join(items)}</channel></rss>".encode()


@pytest.mark.parametrize("kind, variant", VARIANTS)
def test_every_url_variant_kind_in_a_feed_is_the_article_id(server, tmp_path, kind, variant):
    server.route("/feed.xml", Reply(body=feed(item("Harbour strike ends", link=variant, guid="991")), headers=RSS_TYPE))
    [article] = articles_only(read_all(rss(server, tmp_path, "/feed.xml")))
    assert article.id == ARTICLE, kind
    assert article.url.lower() == variant.lower(), "the link itself is kept as given"


def test_the_same_article_in_three_feeds_has_one_id(server, tmp_path):
    links = {
        "/top.xml": "https://www.example.com/world/2024/05/03/harbour-strike-ends?utm_source=top&utm_medium=rss",
        "/world.xml": "https://example.com/world/2024/05/03/harbour-strike-ends/?CMP=world",
        "/politics.xml": "https://m.example.com/world/2024/05/03/harbour-strike-ends#comments",
    }
    ids = set()
    for number, (path, link) in enumerate(links.items()):
        server.route(path, Reply(body=feed(item("Harbour strike ends", link=link, guid=f"guid-{number}")), headers=RSS_TYPE))
        [article] = articles_only(read_all(rss(server, tmp_path, path, name=path.strip("/").removesuffix(".xml"))))
        ids.add(article.id)
    assert ids == {ARTICLE}


def test_a_guid_only_where_there_is_no_link(server, tmp_path):
    server.route("/feed.xml", Reply(body=feed(
        item("Bare guid", guid="42"),
        item("URN guid", guid="urn:uuid:5f1c"),
        item("Permalink guid", guid="https://www.example.com/a/?utm_source=rss"),
        item("Link beats guid", link="https://example.com/b", guid="urn:uuid:9"),
    ), headers=RSS_TYPE))
    ids = {a.title: a.id for a in articles_only(read_all(rss(server, tmp_path, "/feed.xml")))}
    assert ids == {
        "Bare guid": server.url("/feed.xml") + "#42",  # qualified by the feed: two feeds' "42" never collide
        "URN guid": "urn:uuid:5f1c",
        "Permalink guid": "https://example.com/a",
        "Link beats guid": "https://example.com/b",
    }


def page(canonical: str | None) -> bytes:
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical is not None else ""
    body = "".join(f"<p>Paragraph {n} of the harbour strike story, with enough words to be the main text.</p>" for n in range(12))
    return (f"<html><head><title>Harbour strike ends</title>{link}"
            f'<meta property="og:url" content="/"></head><body><article>{body}</article></body></html>').encode()


@pytest.mark.parametrize(
    "canonical, expected",
    [
        ("/news/harbour-strike-ends", "{site}/news/harbour-strike-ends"),  # the page's own canonical names it
        ("{www}/news/harbour-strike-ends?utm_source=x", "{site}/news/harbour-strike-ends"),  # absolute, tracking removed
        ("https://other.example/news/harbour-strike-ends", "{link}"),  # another site: a syndicated copy, not this id
        ("/", "{link}"),  # a template pointing every page at the home page
        (None, "{link}"),  # no canonical link (og:url is not trusted for identity)
    ],
)
def test_a_fetched_pages_rel_canonical_names_the_article_on_its_own_site(server, tmp_path, canonical, expected):
    site = server.url("/").rstrip("/").replace("http://", "https://")
    values = {"site": site, "www": server.url("/").rstrip("/"), "link": site + "/story?id=7"}
    server.route("/feed.xml", Reply(body=feed(item("Harbour strike ends", link="/story?id=7&utm_source=rss")), headers=RSS_TYPE))
    named = canonical.format(**values) if canonical else None
    server.route("/story", Reply(body=page(named), headers={"Content-Type": "text/html; charset=utf-8"}))
    [article] = articles_only(read_all(rss(server, tmp_path, "/feed.xml", fetch_full_text=True)))
    assert "Paragraph 11" in article.body
    assert article.id == expected.format(**values)

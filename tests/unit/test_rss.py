"""The rss connector's reading of RSS 0.91, 1.0, 2.0 and Atom: ids, text, dates, authors, categories."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors.rss import RssConnector
from pipeline.plugin import (
    Article, ConfigError, DeadLetter, FeedServer, Reply, articles_only, connector_for_test, html_to_text, read_all,
)
from pipeline.plugin.registry import connector_class

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def read_feed(server: FeedServer, tmp_path: Path, sample: str, content_type: str = "application/rss+xml", **options):
    server.serve_file("/feed.xml", FEEDS / sample, content_type)
    connector = connector_for_test("rss", {"url": server.url("/feed.xml"), "host_delay": 0, **options}, tmp_path)
    return read_all(connector)


def by_title(records) -> dict[str, Article]:
    return {a.title: a for a in articles_only(records)}


def test_registered_and_picked_for_http_urls():
    assert connector_class("rss") is RssConnector
    assert RssConnector.options_for_source("https://news.example/feed.xml") == {"url": "https://news.example/feed.xml"}
    assert RssConnector.options_for_source("seeds/") is None
    assert RssConnector.options_for_source("file:///etc/passwd") is None


def test_config_rejects_non_http_urls_and_half_credentials(tmp_path):
    with pytest.raises(ConfigError, match="key 'url'.*only http and https"):
        connector_for_test("rss", {"url": "ftp://news.example/feed.xml"}, tmp_path)
    with pytest.raises(ConfigError, match="username and password go together"):
        connector_for_test("rss", {"url": "http://news.example/f", "username": "bob"}, tmp_path)
    with pytest.raises(ConfigError, match="unknown key"):
        connector_for_test("rss", {"url": "http://news.example/f", "colour": "red"}, tmp_path)


def test_rss20(server, tmp_path):
    records = read_feed(server, tmp_path, "rss20.xml")
    assert not [r for r in records if isinstance(r, DeadLetter)]
    articles = by_title(records)
    assert len(articles_only(records)) == 4  # five items, one listed twice
    ferry = articles["Ferry service resumes after storm"]
    # content:encoded wins over the shorter description; markup, script and style are gone.
    assert ferry.body == (
        "The ferry to the islands & the mainland sailed again on Tuesday.\n\n"
        "\u201cWe are glad to be back,\u201d said the captain, Jo\u00e3o Silva.\nTickets are on sale here."
    )
    assert "trackReader" not in ferry.body and "color" not in ferry.body and "<" not in ferry.body
    assert ferry.url == server.url("/news/ferry-resumes")  # relative link resolved against the feed
    # The canonical link is the id (a guid only without a link): https, as every variant of the link maps to it.
    assert ferry.id == server.url("/news/ferry-resumes").replace("http://", "https://")
    assert ferry.published_at == datetime(2024, 1, 2, 9, 30, tzinfo=timezone.utc)
    assert ferry.authors == ["Maria Lopes"]
    assert ferry.categories == ["Transport", "Weather"]
    assert ferry.language == "en-gb"
    assert ferry.source.model_dump() == {"connector": "rss", "name": "test", "feed": server.url("/feed.xml")}
    assert ferry.fetched_at is not None and (datetime.now(timezone.utc) - ferry.fetched_at).total_seconds() < 60

    pier = articles["Council approves new pier & boardwalk"]  # entity in the title decoded
    assert pier.body == "The council voted 7 to 2 for the new pier.\n\nWork starts in spring."
    assert pier.id == "https://harbour.example/news/new-pier"  # no guid: the link

    assert articles["Lighthouse open day"].id == "https://harbour.example/news/lighthouse"  # no link; the guid is a URL
    tides = articles["Tide tables for January"]  # no guid, no link: a hash of title and date
    assert tides.id.startswith(server.url("/feed.xml") + "#sha256:")
    assert tides.url is None


def test_ids_are_stable_across_fetches(server, tmp_path):
    first = {a.title: a.id for a in articles_only(read_feed(server, tmp_path / "a", "rss20.xml"))}
    second = {a.title: a.id for a in articles_only(read_feed(server, tmp_path / "b", "rss20.xml"))}
    assert first == second


def test_rss10(server, tmp_path):
    articles = by_title(read_feed(server, tmp_path, "rss10.xml", "application/rdf+xml"))
    vineyard = articles["Vineyard harvest breaks record"]
    assert vineyard.id == "https://valley.example/2024/vineyard"
    assert vineyard.body == "Growers picked 40 tonnes of grapes this year."
    assert vineyard.authors == ["Ana Costa"] and vineyard.categories == ["Agriculture"]
    assert vineyard.published_at == datetime(2024, 1, 3, 10, 0, tzinfo=timezone.utc)
    bridge = articles["Old bridge closed for repairs"]
    assert bridge.published_at == datetime(2024, 1, 2, 6, 15, tzinfo=timezone.utc)  # +01:00 normalised


def test_rss091_in_latin1(server, tmp_path):
    articles = by_title(read_feed(server, tmp_path, "rss091.xml", "text/xml"))
    snow = articles["Snow closes the pass"]
    assert "Café owners are worried." in snow.body
    assert snow.id == "https://mountain.example/snow-pass.html"
    assert snow.published_at is None and snow.language == "en-us"
    assert len(articles) == 2


def test_atom(server, tmp_path):
    articles = by_title(read_feed(server, tmp_path, "atom.xml", "application/atom+xml"))
    flood = articles["Flood defences tested"]  # an HTML title becomes text
    assert flood.id == "https://river.example/blog/posts/flood.html"  # the link, not the tag: URI
    assert flood.url == "http://river.example/blog/posts/flood.html"  # xml:base applied
    assert flood.body == "Barriers hold\n\nThe new barriers held back the river on Friday.\n\nResidents were relieved."
    assert flood.authors == ["Lena Berg", "Tom Weir"]
    assert flood.categories == ["Environment"]
    assert flood.published_at == datetime(2024, 1, 5, 8, 0, tzinfo=timezone.utc)
    regatta = articles["Rowing club wins regatta"]
    assert regatta.body == "The club won three races.\n\nNext year they host."
    assert regatta.published_at == datetime(2024, 1, 4, 16, 0, tzinfo=timezone.utc)  # only <updated>


def test_max_entries(server, tmp_path):
    articles = articles_only(read_feed(server, tmp_path, "rss20.xml", max_entries=2))
    assert [a.title for a in articles] == ["Ferry service resumes after storm", "Council approves new pier & boardwalk"]


def test_empty_feed_yields_nothing(server, tmp_path):
    server.route("/feed.xml", Reply(body=b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>"))
    connector = connector_for_test("rss", {"url": server.url("/feed.xml"), "host_delay": 0}, tmp_path)
    assert read_all(connector) == []


@pytest.mark.parametrize(
    "markup, text",
    [
        ("<p>One &amp; two</p><p>Three</p>", "One & two\n\nThree"),
        ("Line<br>break", "Line\nbreak"),
        ("<div><script>var a = '<p>';</script>Kept</div><style>.x{}</style>", "Kept"),
        ("<!-- comment -->Text   with\n\n\nspaces", "Text with\n\nspaces"),
        ("&eacute;t&eacute; &#8212; &quot;hot&quot;", "\u00e9t\u00e9 \u2014 \"hot\""),
        ("<ul><li>a</li><li>b</li></ul>", "a\n\nb"),
        ("", ""),
    ],
)
def test_html_to_text(markup, text):
    assert html_to_text(markup) == text

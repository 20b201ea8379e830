"""Hostile redirects and item links: an unusable URL is one SourceRejected for that feed or entry.

`javascript:` targets, ports out of range, broken IPv6 literals, control characters, hosts
that are not valid names: never a traceback, never a crash of the read, never a credential
in the message, and the feed's other entries (or the other feeds) still come through.
"""

from __future__ import annotations

import json

import pytest

from pipeline.errors import SourceRejected, SourceError
from pipeline.plugin import DeadLetter, FeedServer, Reply, articles_only, connector_for_test, read_all
from pipeline.plugin.http import Fetcher, HostPoliteness, check_url, redact
from pipeline.settings import LimitSettings

UNUSABLE = [
    "javascript:alert(document.cookie)",
    "http://127.0.0.1:99999/feed.xml",
    "http://127.0.0.1:-1/feed.xml",
    "http://[::1/feed.xml",
    "http://reader:hunter2@127.0.0.1:70000/feed.xml",
    "data:text/html,<script>alert(1)</script>",
    "//",
    "http://xn--/feed.xml",
    "http://exa mple.org/feed.xml",
    "file:///etc/passwd",
    "http://" + "a" * 300 + ".example/feed.xml",
]
FEED_TYPE = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def fetcher() -> Fetcher:
    return Fetcher(LimitSettings(http_timeout=2.0), host_delay=0, politeness=HostPoliteness())


@pytest.mark.parametrize("location", UNUSABLE)
def test_an_unusable_location_is_one_source_rejected(server, location):
    server.route("/feed.xml", Reply(status=302, headers={"Location": location}))
    with pytest.raises(SourceError) as caught:
        fetcher().get(server.url("/feed.xml"))
    message = str(caught.value)
    assert isinstance(caught.value, SourceRejected), message
    assert "\n" not in message and "hunter2" not in message
    assert "\x1b" not in message


@pytest.mark.parametrize("url", UNUSABLE + ["http://127.0.0.1:99999", "\x1b]0;pwned\x07http://example.org/"])
def test_check_url_says_no_in_one_line_and_never_raises_anything_else(url):
    with pytest.raises(SourceRejected) as caught:
        check_url(url)
        fetcher().get(url)  # if check_url accepted it, fetching must still fail in one line
    assert "\n" not in str(caught.value) and "hunter2" not in str(caught.value) and "\x1b" not in str(caught.value)


def test_redact_survives_garbage_and_never_shows_a_password():
    assert redact("http://reader:hunter2@127.0.0.1:99999/x") == "http://127.0.0.1:99999/x"
    assert redact("http://[::1") == "http://[::1"
    assert redact("http://x/\x1b[31mred") == "http://x/\\x1b[31mred"


def test_a_feed_whose_location_is_unusable_is_rejected_and_the_next_feed_still_reads(server, tmp_path):
    server.route("/bad.xml", Reply(status=301, headers={"Location": "http://127.0.0.1:99999/feed.xml"}))
    server.route("/good.xml", Reply(body=_feed("one", "/story/1"), headers=FEED_TYPE))
    bad = connector_for_test("rss", {"url": server.url("/bad.xml"), "host_delay": 0}, tmp_path / "bad")
    with pytest.raises(SourceRejected, match="redirect .* rejected: (unusable URL|port out of range)"):
        read_all(bad)
    good = connector_for_test("rss", {"url": server.url("/good.xml"), "host_delay": 0}, tmp_path / "good")
    assert [a.title for a in articles_only(read_all(good))] == ["one"]


ITEM_LINKS = ["http://127.0.0.1:99999/story", "javascript:alert(1)", "http://[::1/story", "http://xn--/story"]


def _read_with_full_text(server, tmp_path, items: list[tuple[str, str]]):
    """A feed of `items` (title, link) read with fetch_full_text; /story/good serves a real page.
    Returns the articles by title and the dead letters; the good entry got its page."""
    server.route("/feed.xml", Reply(body=_feed(*[part for pair in items for part in pair]), headers=FEED_TYPE))
    server.route("/story/good", Reply(body=_page("The full story of the harbour reopening after the storm."),
                                      headers={"Content-Type": "text/html; charset=utf-8"}))
    connector = connector_for_test(
        "rss", {"url": server.url("/feed.xml"), "host_delay": 0, "fetch_full_text": True}, tmp_path
    )
    records = read_all(connector)
    articles = {a.title: a for a in articles_only(records)}
    assert "harbour reopening" in articles["good"].body
    return articles, [r for r in records if isinstance(r, DeadLetter)]


def test_unusable_item_links_for_full_text_are_dead_letters_and_the_good_entry_gets_its_page(server, tmp_path):
    items = [("good", "/story/good")] + [(f"bad{n}", link) for n, link in enumerate(ITEM_LINKS)]
    articles, letters = _read_with_full_text(server, tmp_path, items)
    # Each bad entry still arrives with the feed's own text; a link that had to be refused costs
    # at most one dead letter of one line (feedparser already drops some links it cannot resolve).
    bad = {f"bad{n}" for n in range(len(ITEM_LINKS))}
    assert set(articles) == bad | {"good"}
    assert all(articles[title].body == f"Feed text of {title}." for title in bad)
    assert 1 <= len(letters) <= len(ITEM_LINKS)
    assert all(letter.stage == "fetch" and "\n" not in letter.reason for letter in letters)


def _feed(*pairs: str) -> bytes:
    items = "".join(
        f"<item><guid>urn:test:{title}</guid><title>{title}</title><link>{link}</link>"
        f"<description>Feed text of {title}.</description></item>"
        for title, link in zip(pairs[::2], pairs[1::2])
    )
    return f"<rss version='2.0'><channel><title>Hostile</title>{items}</channel></rss>".encode()


def _page(text: str) -> bytes:
    paragraphs = "".join(f"<p>{text} Paragraph {n} adds more detail for the extractor to keep.</p>" for n in range(6))
    return f"<html><head><title>Story</title></head><body><article><h1>Story</h1>{paragraphs}</article></body></html>".encode()


def test_one_feed_redirecting_to_an_unusable_location_costs_one_dead_letter_in_a_run(write_config):
    import threading

    from pipeline.runtime.fleet import Fleet
    from pipeline.runtime.loop import RunReport
    from pipeline.runtime.sources import LocalSources
    from pipeline.settings import load_settings

    delivered, letters = [], []

    def output(batch):
        delivered.extend(a.title for a in batch.articles)
        letters.extend(batch.dead)
        return RunReport(read=len(batch.articles), indexed=len(batch.articles), dead=len(batch.dead))

    with FeedServer(host="127.0.6.1") as first, FeedServer(host="127.0.6.2") as bad, FeedServer(host="127.0.6.3") as last:
        first.route("/feed.xml", Reply(body=_feed("first", "/story/1"), headers=FEED_TYPE))
        bad.route("/feed.xml", Reply(status=301, headers={"Location": "javascript:alert(1)"}))
        bad.route("/port.xml", Reply(status=302, headers={"Location": "http://127.0.6.2:99999/x"}))
        last.route("/feed.xml", Reply(body=_feed("last", "/story/2"), headers=FEED_TYPE))
        urls = [first.url("/feed.xml"), bad.url("/feed.xml"), bad.url("/port.xml"), last.url("/feed.xml")]
        settings = load_settings(write_config(connectors=[{"type": "feeds", "name": "world", "host_delay": 0, "urls": urls}]))
        Fleet(LocalSources(settings), output, settings, once=True, stop=threading.Event()).run()
    assert sorted(delivered) == ["first", "last"]
    assert len(letters) == 2 and all("rejected" in letter.reason and "\n" not in letter.reason for letter in letters)


def test_fetch_of_several_urls_goes_on_past_an_unusable_redirect(server):
    from tests.unit.test_cli import newswire

    server.route("/bad.xml", Reply(status=302, headers={"Location": "http://127.0.0.1:99999/feed.xml"}))
    server.route("/good.xml", Reply(body=_feed("good", "/story/9"), headers=FEED_TYPE))
    result = newswire("fetch", server.url("/bad.xml"), server.url("/good.xml"))
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err and "rejected" in err
    assert [json.loads(line)["title"] for line in result.stdout.decode().splitlines()] == ["good"]


def test_an_item_page_redirecting_to_an_unusable_location_is_a_dead_letter_and_the_feed_goes_on(server, tmp_path):
    """Full text: the item's own page answers with `Location: javascript:...` or a port out of range."""
    server.route("/story/js", Reply(status=302, headers={"Location": "javascript:alert(document.cookie)"}))
    server.route("/story/port", Reply(status=301, headers={"Location": "http://127.0.0.1:99999/story"}))
    items = [("js", "/story/js"), ("port", "/story/port"), ("good", "/story/good")]
    articles, letters = _read_with_full_text(server, tmp_path, items)
    assert set(articles) == {"js", "port", "good"}, "every entry arrives, the refused ones with the feed's text"
    assert articles["js"].body == "Feed text of js." and articles["port"].body == "Feed text of port."
    assert len(letters) == 2 and all(l.stage == "fetch" and "rejected" in l.reason and "\n" not in l.reason for l in letters)
    assert "javascript" in " ".join(l.reason for l in letters) and "port out of range" in " ".join(l.reason for l in letters)

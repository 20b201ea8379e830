"""Change detection that does not trust validators alone: a body hash beside ETag / Last-Modified."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.plugin import FeedServer, Reply, articles_only, connector_for_test, read_all

REVALIDATE_AFTER = 6  # connectors.rss.REVALIDATE_AFTER


def feed_of(*titles: str, ttl: str = "") -> bytes:
    items = "".join(f"<item><guid>urn:story:{t}</guid><title>{t}</title><description>About {t}.</description></item>"
                    for t in titles)
    return f"<rss version='2.0'><channel><title>Desk</title>{ttl}{items}</channel></rss>".encode()


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def rss(server: FeedServer, tmp_path: Path, **options):
    return connector_for_test("rss", {"url": server.url("/feed.xml"), "host_delay": 0, **options}, tmp_path)


def test_an_unchanged_body_is_a_no_op_without_validators(server, tmp_path):
    server.route("/feed.xml", Reply(body=feed_of("one", "two")))  # a server that sends no ETag at all
    connector = rss(server, tmp_path)
    assert len(articles_only(read_all(connector))) == 2
    assert connector.poll_report.listed == 2 and not connector.poll_report.not_modified
    assert read_all(connector) == []
    assert connector.poll_report.not_modified and connector.poll_report.listed is None  # not parsed again


def test_a_lying_etag_is_caught_by_the_body_hash_and_then_ignored(server, tmp_path):
    bodies = {"now": feed_of("one")}

    def lying(request):
        # Always the same ETag, and a 304 to anyone who presents it, whatever the body is now.
        if request.header("If-None-Match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return Reply(body=bodies["now"], headers={"ETag": '"v1"'})

    server.route("/feed.xml", lying)
    connector = rss(server, tmp_path)
    assert [a.title for a in articles_only(read_all(connector))] == ["one"]
    bodies["now"] = feed_of("two", "one")
    found = []
    for _ in range(REVALIDATE_AFTER + 1):
        found += [a.title for a in articles_only(read_all(connector))]
    assert found == ["two"], "the unconditional revalidation found what the 304s hid"
    sent = [r.header("If-None-Match") for r in server.requests_to("/feed.xml")]
    assert sent[:REVALIDATE_AFTER + 1] == [None] + ['"v1"'] * REVALIDATE_AFTER and sent[-1] is None
    assert connector.checkpoint.get("validators") is False
    bodies["now"] = feed_of("three", "two", "one")
    assert [a.title for a in articles_only(read_all(connector))] == ["three"]  # caught at once now
    assert server.requests_to("/feed.xml")[-1].header("If-None-Match") is None
    assert read_all(connector) == [] and connector.poll_report.not_modified  # the same body: hash says so


def test_an_honest_server_keeps_conditional_gets(server, tmp_path):
    server.route("/feed.xml", [Reply(body=feed_of("one"), etag='"a"'), Reply(body=feed_of("two", "one"), etag='"b"')])
    connector = rss(server, tmp_path)
    read_all(connector)
    assert [a.title for a in articles_only(read_all(connector))] == ["two"]
    assert read_all(connector) == []  # 304 for "b"
    assert connector.checkpoint.get("validators") is None
    assert [r.header("If-None-Match") for r in server.requests_to("/feed.xml")] == [None, '"a"', '"b"']


def test_ttl_and_max_age_are_the_interval_the_feed_asks_for(server, tmp_path):
    server.route("/feed.xml", [
        Reply(body=feed_of("one", ttl="<ttl>30</ttl>"), headers={"Cache-Control": "public, max-age=600"}, etag='"a"'),
        Reply(body=feed_of("one", ttl="<ttl>30</ttl>"), headers={"Cache-Control": "max-age=7200"}, etag='"a"'),
    ])
    connector = rss(server, tmp_path)
    read_all(connector)
    assert connector.poll_report.requested_interval == 1800  # <ttl>30</ttl> minutes beats max-age 600
    read_all(connector)  # 304, with a longer max-age
    assert connector.poll_report.not_modified and connector.poll_report.requested_interval == 7200
    assert connector.requested_interval == 7200  # remembered in the checkpoint for the next start

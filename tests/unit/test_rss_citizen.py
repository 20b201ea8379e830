"""The rss connector as a feed citizen: conditional GET, checkpoint and restart, ttl, Retry-After,
redirects, failures as one-line errors, malformed feeds, full text, basic auth."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.plugin import (
    DeadLetter, FeedServer, Reply, SourceRejected, SourceUnreachable, Throttled, articles_only, commit,
    connector_for_test, http_date, read_all,
)
from pipeline.settings import LimitSettings

FEEDS = Path(__file__).resolve().parents[1] / "data" / "feeds"
RSS20 = (FEEDS / "rss20.xml").read_bytes()
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def rss(server: FeedServer, tmp_path: Path, path: str = "/feed.xml", limits: LimitSettings | None = None, **options):
    return connector_for_test("rss", {"url": server.url(path), "host_delay": 0, **options}, tmp_path, limits=limits)


def feed_of(*items: str, extra: str = "") -> bytes:
    return f"<rss version='2.0'><channel><title>Test</title>{extra}{''.join(items)}</channel></rss>".encode()


def item(guid: str, title: str, link: str = "", body: str = "Body text.", pub: str = "Mon, 01 Jan 2024 10:00:00 GMT"):
    return (f"<item><guid isPermaLink='false'>{guid}</guid><title>{title}</title>"
            f"<link>{link}</link><description>{body}</description><pubDate>{pub}</pubDate></item>")


def test_second_read_is_a_conditional_get_and_emits_nothing(server, tmp_path):
    stamp = http_date(1_704_100_000)
    server.route("/feed.xml", Reply(body=RSS20, headers=RSS_TYPE, etag='"abc"', last_modified=stamp))
    connector = rss(server, tmp_path)
    assert len(articles_only(read_all(connector))) == 4
    assert read_all(connector) == []
    second = server.requests_to("/feed.xml")[1]
    assert second.header("If-None-Match") == '"abc"' and second.header("If-Modified-Since") == stamp


def test_restart_re_emits_nothing(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20, headers=RSS_TYPE))  # a server without validators
    assert len(articles_only(read_all(rss(server, tmp_path)))) == 4
    restarted = rss(server, tmp_path)
    assert read_all(restarted) == []  # the seen ids survived in the checkpoint file
    assert (tmp_path / "checkpoints" / "rss-test.json").is_file()


def test_restart_sends_the_stored_validators(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20, headers=RSS_TYPE, etag='"v7"'))
    read_all(rss(server, tmp_path))
    assert read_all(rss(server, tmp_path)) == []
    assert server.requests_to("/feed.xml")[1].header("If-None-Match") == '"v7"'


def test_without_commit_a_restart_reads_again(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20, headers=RSS_TYPE, etag='"v1"'))
    assert len(articles_only(read_all(rss(server, tmp_path), commit=False))) == 4
    again = rss(server, tmp_path)
    assert len(articles_only(read_all(again))) == 4  # at-least-once: nothing was safe downstream
    assert server.requests_to("/feed.xml")[1].header("If-None-Match") is None


def test_a_partly_consumed_read_keeps_the_rest_for_later(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20, headers=RSS_TYPE, etag='"v1"'))
    connector = rss(server, tmp_path)
    records = connector.read()
    first = next(records)
    records.close()  # the runtime stopped after one article...
    commit(connector, [first])  # ...and committed what it delivered
    rest = articles_only(read_all(rss(server, tmp_path)))
    assert first.value.id not in {a.id for a in rest} and len(rest) == 3
    assert server.requests_to("/feed.xml")[1].header("If-None-Match") is None  # validators not kept early


def test_new_entries_are_emitted_and_old_ones_are_not(server, tmp_path):
    server.route("/feed.xml", [Reply(body=feed_of(item("1", "One"))), Reply(body=feed_of(item("2", "Two"), item("1", "One")))])
    connector = rss(server, tmp_path)
    assert [a.title for a in articles_only(read_all(connector))] == ["One"]
    assert [a.title for a in articles_only(read_all(connector))] == ["Two"]


def test_an_entry_whose_date_moved_is_re_emitted_under_the_same_id(server, tmp_path):
    first = feed_of(item("1", "Draft", pub="Mon, 01 Jan 2024 10:00:00 GMT"))
    updated = feed_of(item("1", "Final", pub="Mon, 01 Jan 2024 12:00:00 GMT"))
    server.route("/feed.xml", [Reply(body=first), Reply(body=updated), Reply(body=updated)])
    connector = rss(server, tmp_path)
    [draft] = articles_only(read_all(connector))
    [final] = articles_only(read_all(connector))
    assert draft.id == final.id and final.title == "Final"
    assert read_all(connector) == []


def test_seen_ids_are_bounded_but_never_forget_what_is_still_in_the_feed(server, tmp_path):
    batches = [feed_of(*(item(str(n), f"Story {n}") for n in range(start, start + 3))) for start in (0, 3, 6)]
    server.route("/feed.xml", [Reply(body=b) for b in batches] + [Reply(body=batches[-1])])
    connector = rss(server, tmp_path, seen_ids=4)
    for _ in batches:
        read_all(connector)
    assert len(connector.checkpoint.get("seen")) == 4
    assert read_all(connector) == []


def test_gzip_feed(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20, headers=RSS_TYPE, gzip=True))
    assert len(articles_only(read_all(rss(server, tmp_path)))) == 4
    assert "gzip" in server.requests_to("/feed.xml")[0].header("Accept-Encoding")


def test_ttl_and_update_period_are_honoured_in_interval(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20, headers=RSS_TYPE))  # <ttl>60</ttl>
    connector = rss(server, tmp_path, interval=300)
    assert connector.interval == 300
    read_all(connector)
    assert connector.interval == 3600
    assert rss(server, tmp_path, interval=300).interval == 3600  # remembered across a restart
    assert rss(server, tmp_path / "slow", interval=7200).interval == 7200
    server.serve_file("/rdf.xml", FEEDS / "rss10.xml")  # sy:updatePeriod hourly, frequency 2
    valley = rss(server, tmp_path / "valley", path="/rdf.xml", interval=60)
    read_all(valley)
    assert valley.interval == 1800


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_raised_with_the_wait_and_the_host_is_left_alone(server, tmp_path, status):
    server.route("/feed.xml", [Reply(status=status, headers={"Retry-After": "900"}), Reply(body=RSS20)])
    connector = rss(server, tmp_path, interval=60)
    with pytest.raises(Throttled, match=f"HTTP {status}.*retry in 900s") as caught:
        read_all(connector)
    assert 899 <= caught.value.retry_after <= 900  # the fleet schedules the next poll from it
    with pytest.raises(Throttled):
        read_all(connector)
    assert server.count("/feed.xml") == 1  # nothing more was asked of the host before its time


def test_permanent_redirect_updates_the_feed_url(server, tmp_path):
    server.redirect("/old.xml", "/new.xml", status=301)
    server.route("/new.xml", Reply(body=RSS20, headers=RSS_TYPE, etag='"n1"'))
    connector = rss(server, tmp_path, path="/old.xml")
    articles = articles_only(read_all(connector))
    assert articles[0].source.feed == server.url("/new.xml")
    assert connector.checkpoint.get("url") == server.url("/new.xml")
    restarted = rss(server, tmp_path, path="/old.xml")
    assert read_all(restarted) == []
    assert server.count("/old.xml") == 1  # the restart went straight to the new URL
    assert server.requests_to("/new.xml")[1].header("If-None-Match") == '"n1"'
    # Ids qualified by the feed (no link) use the configured URL, so they do not change with the move.
    unlinked = [a for a in articles if a.url is None]
    assert unlinked and all(a.id.startswith(server.url("/old.xml") + "#") for a in unlinked)


def test_temporary_redirect_keeps_the_configured_url(server, tmp_path):
    server.redirect("/feed.xml", "/mirror.xml", status=302)
    server.route("/mirror.xml", Reply(body=RSS20))
    connector = rss(server, tmp_path)
    read_all(connector)
    assert connector.feed_url == server.url("/feed.xml")


def test_changing_the_configured_url_starts_from_it(server, tmp_path):
    server.redirect("/old.xml", "/new.xml", status=301)
    server.route("/new.xml", Reply(body=RSS20, etag='"n1"'))
    server.route("/other.xml", Reply(body=RSS20, etag='"o1"'))
    read_all(rss(server, tmp_path, path="/old.xml"))
    reconfigured = rss(server, tmp_path, path="/other.xml")
    assert reconfigured.feed_url == server.url("/other.xml")
    read_all(reconfigured)
    assert server.requests_to("/other.xml")[0].header("If-None-Match") is None


def test_redirect_loop_is_rejected(server, tmp_path):
    server.redirect("/a.xml", "/b.xml", status=302)
    server.redirect("/b.xml", "/a.xml", status=302)
    with pytest.raises(SourceRejected, match="more than 5 redirects"):
        read_all(rss(server, tmp_path, path="/a.xml"))


def test_timeout_is_unreachable(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20, delay=1.0))
    with pytest.raises(SourceUnreachable, match="timed out after 0.2s"):
        read_all(rss(server, tmp_path, limits=LimitSettings(http_timeout=0.2)))


def test_feed_over_the_size_limit_is_rejected(server, tmp_path):
    server.route("/feed.xml", Reply(body=RSS20))
    with pytest.raises(SourceRejected, match="over the limit of 500 bytes"):
        read_all(rss(server, tmp_path, limits=LimitSettings(max_fetch_bytes=500)))


def test_not_found_is_rejected_in_one_line(server, tmp_path):
    with pytest.raises(SourceRejected, match="HTTP 404") as caught:
        read_all(rss(server, tmp_path, path="/missing.xml"))
    assert "\n" not in str(caught.value)


def test_an_html_page_is_rejected_and_its_feed_named(server, tmp_path):
    server.serve_file("/", FEEDS / "page.html", "text/html; charset=utf-8")
    with pytest.raises(SourceRejected, match=r"is an HTML page, not a feed \(the page links to a feed: .*/feed.xml\)"):
        read_all(rss(server, tmp_path, path="/"))


def test_something_else_is_rejected(server, tmp_path):
    server.route("/feed.xml", Reply(body=b'{"not": "a feed"}', headers={"Content-Type": "application/json"}))
    with pytest.raises(SourceRejected, match="not an RSS or Atom feed"):
        read_all(rss(server, tmp_path))


def test_malformed_feed_yields_what_it_can_and_a_dead_letter(server, tmp_path):
    server.serve_file("/feed.xml", FEEDS / "malformed.xml", "application/rss+xml")
    connector = rss(server, tmp_path)
    records = read_all(connector)
    articles = articles_only(records)
    assert [a.title for a in articles] == ["First story survives", "Second story & friends"]
    [dead] = [r for r in records if isinstance(r, DeadLetter)]
    assert dead.stage == "connector" and dead.reason.startswith("malformed feed, recovered 2 entries: ")
    assert "undefined entity" in dead.reason and "\n" not in dead.reason
    assert dead.payload_bytes() == (FEEDS / "malformed.xml").read_bytes()
    assert dead.source == {"connector": "rss", "name": "test", "feed": server.url("/feed.xml")}
    assert read_all(connector) == []  # the same broken document is reported once


def full_text_feed(server: FeedServer) -> bytes:
    return feed_of(
        item("ferry", "Ferry service resumes after storm", link="/news/ferry", body="Teaser only."),
        item("gone", "A story whose page is gone", link="/news/gone", body="The feed's own text."),
    )


def test_full_text_is_fetched_politely_and_failures_fall_back(server, tmp_path):
    server.route("/feed.xml", Reply(body=full_text_feed(server)))
    server.serve_file("/news/ferry", FEEDS / "article.html", "text/html; charset=utf-8")
    connector = rss(server, tmp_path, fetch_full_text=True, host_delay=0.05)
    records = read_all(connector)
    articles = {a.title: a for a in articles_only(records)}
    ferry = articles["Ferry service resumes after storm"]
    assert "sailed again on Tuesday morning" in ferry.body and "João Silva" in ferry.body
    assert "Copyright" not in ferry.body and "Sport" not in ferry.body and "Teaser" not in ferry.body
    assert ferry.authors == ["Maria Lopes"]
    gone = articles["A story whose page is gone"]
    assert gone.body == "The feed's own text."
    [dead] = [r for r in records if isinstance(r, DeadLetter)]
    assert dead.stage == "fetch" and dead.article_id == gone.id
    assert dead.reason.startswith("full text not fetched, kept the feed's content: HTTP 404")
    user_agents = {r.header("User-Agent") for r in server.requests}
    assert len(user_agents) == 1 and user_agents.pop().startswith("newswire/")


def test_full_text_off_by_default(server, tmp_path):
    server.route("/feed.xml", Reply(body=full_text_feed(server)))
    read_all(rss(server, tmp_path))
    assert server.count("/news/ferry") == 0


def test_basic_auth_and_headers_are_sent_and_the_password_never_logged(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server.route("/feed.xml", [Reply(body=RSS20), Reply(status=401, body=b"no")])
    connector = rss(server, tmp_path, username="reader", password="hunter2-secret",
                    headers={"X-Api-Client": "newsroom"})
    read_all(connector)
    request = server.requests_to("/feed.xml")[0]
    assert request.header("Authorization") == "Basic cmVhZGVyOmh1bnRlcjItc2VjcmV0"
    assert request.header("X-Api-Client") == "newsroom"
    with pytest.raises(SourceRejected, match="HTTP 401.*check username and password") as caught:
        read_all(connector)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in caplog.text
    assert "hunter2" not in repr(connector.options) and "hunter2" not in str(connector.options)
    assert "hunter2" not in (tmp_path / "checkpoints" / "rss-test.json").read_text()


def test_credentials_in_the_url_are_not_logged(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server.route("/feed.xml", [Reply(body=RSS20), Reply(status=500)])
    url = server.url("/feed.xml").replace("http://", "http://reader:hunter2@")
    connector = connector_for_test("rss", {"url": url, "host_delay": 0}, tmp_path)
    articles = articles_only(read_all(connector))
    with pytest.raises(SourceUnreachable) as caught:
        read_all(connector)
    assert server.requests_to("/feed.xml")[0].header("Authorization") == "Basic cmVhZGVyOmh1bnRlcjI="
    assert "hunter2" not in str(caught.value) and "hunter2" not in caplog.text
    assert not [a for a in articles if "hunter2" in a.to_json()]
    assert "hunter2" not in (tmp_path / "checkpoints" / "rss-test.json").read_text()

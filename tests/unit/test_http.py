"""The polite fetch layer against a loopback server: limits, redirects, conditional GET, throttling."""

from __future__ import annotations

import time

import pytest

from pipeline.errors import SourceRejected, SourceUnreachable, backoff_delay
from pipeline.plugin import FeedServer, Reply, http_date
from pipeline.plugin.http import USER_AGENT, Fetcher, HostPoliteness, Throttled, check_url, parse_retry_after, redact
from pipeline.settings import LimitSettings

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def fetcher(**kwargs) -> Fetcher:
    limits = kwargs.pop("limits", LimitSettings(http_timeout=2.0))
    kwargs.setdefault("host_delay", 0.0)
    kwargs.setdefault("politeness", HostPoliteness())
    return Fetcher(limits, **kwargs)


def test_get_sends_user_agent_and_gzip_and_decodes(server):
    server.route("/feed.xml", Reply(body=FEED * 50, gzip=True))
    with fetcher() as client:
        result = client.get(server.url("/feed.xml"))
    assert result.status == 200 and result.content == FEED * 50
    request = server.requests_to("/feed.xml")[0]
    assert request.header("User-Agent") == USER_AGENT
    assert USER_AGENT.startswith("newswire/")
    assert "gzip" in request.header("Accept-Encoding")


def test_conditional_get_sends_validators_and_reports_304(server):
    stamp = http_date(1_700_000_000)
    server.route("/feed.xml", Reply(body=FEED, etag='"v1"', last_modified=stamp))
    with fetcher() as client:
        first = client.get(server.url("/feed.xml"))
        second = client.get(server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified)
    assert first.etag == '"v1"' and first.last_modified == stamp
    assert second.not_modified and second.content == b""
    sent = server.requests_to("/feed.xml")[1]
    assert sent.header("If-None-Match") == '"v1"' and sent.header("If-Modified-Since") == stamp


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "feed.xml", "http:///nohost"])
def test_non_http_schemes_are_rejected(url):
    with pytest.raises(SourceRejected, match="http"):
        check_url(url)
    with fetcher() as client, pytest.raises(SourceRejected):
        client.get(url)


def test_redirect_to_a_non_http_scheme_is_rejected(server):
    server.redirect("/feed.xml", "file:///etc/passwd")
    with fetcher() as client, pytest.raises(SourceRejected, match="file"):
        client.get(server.url("/feed.xml"))


def test_permanent_redirect_is_reported(server):
    server.redirect("/old.xml", "/new.xml", status=301)
    server.route("/new.xml", Reply(body=FEED))
    with fetcher() as client:
        result = client.get(server.url("/old.xml"))
    assert result.content == FEED
    assert result.moved_to == server.url("/new.xml")


def test_temporary_redirect_is_followed_but_not_reported(server):
    server.redirect("/old.xml", "/moved.xml", status=301)
    server.redirect("/moved.xml", "/today.xml", status=302)
    server.route("/today.xml", Reply(body=FEED))
    with fetcher() as client:
        result = client.get(server.url("/old.xml"))
    assert result.content == FEED
    assert result.moved_to == server.url("/moved.xml")  # only the permanent part of the chain


def test_redirect_cap(server):
    for hop in range(10):
        server.redirect(f"/hop{hop}", f"/hop{hop + 1}", status=302)
    server.route("/hop10", Reply(body=FEED))
    with fetcher(max_redirects=5) as client, pytest.raises(SourceRejected, match="more than 5 redirects"):
        client.get(server.url("/hop0"))
    assert server.count("/hop5") == 1 and server.count("/hop6") == 0


def test_timeout_is_source_unreachable(server):
    server.route("/slow.xml", Reply(body=FEED, delay=1.5))
    started = time.monotonic()
    with fetcher(limits=LimitSettings(http_timeout=0.3)) as client, pytest.raises(SourceUnreachable, match="timed out"):
        client.get(server.url("/slow.xml"))
    assert time.monotonic() - started < 1.4


def test_connection_refused_is_source_unreachable():
    with FeedServer() as gone:
        url = gone.url("/feed.xml")
    with fetcher() as client, pytest.raises(SourceUnreachable, match="cannot connect"):
        client.get(url)


@pytest.mark.parametrize("status, error", [(404, SourceRejected), (410, SourceRejected), (500, SourceUnreachable)])
def test_http_errors(server, status, error):
    server.route("/feed.xml", Reply(status=status, body=b"nope"))
    with fetcher() as client, pytest.raises(error, match=f"HTTP {status}"):
        client.get(server.url("/feed.xml"))


def test_size_limit_by_content_length_and_by_stream(server):
    limits = LimitSettings(max_fetch_bytes=1000, http_timeout=2.0)
    server.route("/big.xml", Reply(body=b"x" * 5000))
    with fetcher(limits=limits) as client, pytest.raises(SourceRejected, match="over the limit of 1000"):
        client.get(server.url("/big.xml"))
    # A small gzip body that inflates past the limit (no honest Content-Length for the inflated size).
    server.route("/bomb.xml", Reply(body=b"x" * 50_000, gzip=True))
    with fetcher(limits=limits) as client, pytest.raises(SourceRejected, match="over the limit of 1000"):
        client.get(server.url("/bomb.xml"))


def test_retry_after_short_wait_is_retried(server):
    server.route("/feed.xml", [Reply(status=429, headers={"Retry-After": "0.2"}), Reply(body=FEED)])
    with fetcher(retries=1, max_retry_wait=5) as client:
        result = client.get(server.url("/feed.xml"))
    assert result.content == FEED and server.count("/feed.xml") == 2


def test_retry_after_long_wait_raises_throttled_and_holds_the_host(server):
    server.route("/feed.xml", Reply(status=503, headers={"Retry-After": "120"}))
    with fetcher(max_retry_wait=5) as client:
        with pytest.raises(Throttled) as caught:
            client.get(server.url("/feed.xml"))
        assert 119 <= caught.value.retry_after <= 120
        assert isinstance(caught.value, SourceUnreachable)
        with pytest.raises(Throttled):  # the host asked to be left alone: no second request
            client.get(server.url("/feed.xml"))
    assert server.count("/feed.xml") == 1


def test_parse_retry_after():
    assert parse_retry_after("30") == 30
    assert parse_retry_after(None) == 60
    assert parse_retry_after("soon") == 60
    assert 80 <= parse_retry_after(http_date(time.time() + 90)) <= 91
    assert parse_retry_after(http_date(time.time() - 90)) == 0
    assert parse_retry_after("999999999") == 24 * 3600


def test_backoff_grows_with_jitter_and_is_capped():
    delays = [backoff_delay(n, base=10, cap=100) for n in (1, 2, 3, 10)]
    assert 10 <= delays[0] <= 12.5 and 20 <= delays[1] <= 25 and 40 <= delays[2] <= 50
    assert 100 <= delays[3] <= 125
    assert len({backoff_delay(3, 10, 100) for _ in range(20)}) > 1  # jittered


def _fetch_together(urls, politeness, host_delay=0.0):
    import threading

    def fetch(url):
        with fetcher(host_delay=host_delay, politeness=politeness) as client:
            client.get(url)

    threads = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_at_most_per_host_requests_in_flight_to_one_host(server):
    server.route("/a", Reply(body=b"a", delay=0.2))
    politeness = HostPoliteness(per_host=2)
    _fetch_together([server.url("/a")] * 6, politeness)
    assert server.count("/a") == 6
    assert server.peak == 2 and politeness.peak("127.0.0.1") == 2


def test_one_per_host_serializes_and_starts_are_spaced_by_the_host_delay(server):
    server.route("/a", Reply(body=b"a", delay=0.05))
    _fetch_together([server.url("/a")] * 3, HostPoliteness(per_host=1), host_delay=0.1)
    assert server.peak == 1
    starts = sorted(r.at for r in server.requests_to("/a"))
    assert all(later - earlier >= 0.09 for earlier, later in zip(starts, starts[1:]))


def test_other_hosts_are_not_held_up_by_a_slow_one():
    with FeedServer(host="127.0.0.2") as slow, FeedServer(host="127.0.0.3") as quick:
        slow.route("/a", Reply(body=b"a", delay=0.3))
        quick.route("/a", Reply(body=b"a"))
        politeness = HostPoliteness(per_host=1)
        _fetch_together([slow.url("/a")] * 2 + [quick.url("/a")] * 2, politeness)
        # Both quick requests were answered while the slow host still had its second one to serve.
        assert max(r.at for r in quick.requests) < max(r.at for r in slow.requests)
        assert slow.peak == 1 and quick.peak == 1


def test_basic_auth_is_sent_only_to_the_configured_host(server):
    with FeedServer() as other:
        other.route("/elsewhere.xml", Reply(body=FEED))
        server.redirect("/feed.xml", other.url("/elsewhere.xml"), status=302)
        with fetcher() as client:
            client.get(server.url("/feed.xml"), auth=("reader", "s3cret"))
        assert server.requests_to("/feed.xml")[0].header("Authorization").startswith("Basic ")
        assert other.requests_to("/elsewhere.xml")[0].header("Authorization") is None


def test_redact_removes_credentials():
    assert redact("https://bob:pw@news.example:8443/feed?x=1") == "https://news.example:8443/feed?x=1"
    assert redact("https://news.example/feed") == "https://news.example/feed"

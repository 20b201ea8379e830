"""`newswire run --once` twice against the same feed: a conditional GET the second time, each article indexed once."""

import json

from pipeline.plugin import FeedServer, Reply
from tests.conftest import REPO
from tests.unit.test_cli import newswire

FEEDS = REPO / "tests" / "data" / "feeds"


def test_two_runs_against_one_feed(tmp_path):
    feed = (FEEDS / "rss20.xml").read_bytes()
    with FeedServer() as server:
        server.route("/feed.xml", Reply(body=feed, headers={"Content-Type": "application/rss+xml"}, etag='"v1"'))
        config = tmp_path / "newswire.yaml"
        config.write_text(
            f"data_dir: {tmp_path / 'data'}\n"
            f"connectors:\n  - {{type: rss, name: wire, url: '{server.url('/feed.xml')}'}}\n",
            encoding="utf-8",
        )
        first = newswire("run", "--once", "-c", str(config))
        assert first.returncode == 0, first.stderr.decode()
        listed = newswire("search", "-c", str(config), "--json", "--limit", "100")
        ids = [json.loads(line)["id"] for line in listed.stdout.decode().splitlines()]
        assert ids and len(ids) == len(set(ids))

        second = newswire("run", "--once", "-c", str(config))
        assert second.returncode == 0 and "read 0 article(s)" in second.stderr.decode()
        requests = server.requests_to("/feed.xml")
        assert len(requests) == 2
        assert requests[0].headers.get("If-None-Match") is None
        assert requests[1].headers.get("If-None-Match") == '"v1"'

        again = newswire("search", "-c", str(config), "--json", "--limit", "100")
        assert sorted(json.loads(line)["id"] for line in again.stdout.decode().splitlines()) == sorted(ids)

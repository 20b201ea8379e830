"""The example third-party connector (examples/jsonfeed_connector), tested the way its docs tell plugin authors to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.plugin import (
    ConfigError, DeadLetter, FeedServer, Reply, SourceRejected, articles_only, connector_for_test, read_all,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "jsonfeed_connector"
FEED = (ROOT / "tests" / "data" / "feeds" / "feed.json").read_bytes()

sys.path.insert(0, str(EXAMPLE))  # the plugin is not installed: import it by path
from newswire_jsonfeed import JsonFeedConnector  # noqa: E402


@pytest.fixture
def server():
    with FeedServer() as running:
        running.route("/feed.json", Reply(body=FEED, headers={"Content-Type": "application/feed+json"}, etag='"j1"'))
        yield running


def jsonfeed(server: FeedServer, data_dir: Path):
    return connector_for_test(JsonFeedConnector, {"url": server.url("/feed.json"), "host_delay": 0}, data_dir)


def test_reads_items_and_dead_letters_the_bad_one(server, tmp_path):
    records = read_all(jsonfeed(server, tmp_path))
    market, school = articles_only(records)
    assert market.id == server.url("/feed.json") + "#2024-01-06-market"
    assert market.url == server.url("/2024/market")
    assert market.body == "The market is back & busy.\n\nStalls open at eight."
    assert market.authors == ["Rui Alves"] and market.categories == ["Town", "Food"]
    assert market.source.connector == "jsonfeed"
    assert school.id == "https://island.example/2024/school" and school.body == "The island school reopened on Monday."
    [dead] = [r for r in records if isinstance(r, DeadLetter)]
    assert dead.reason == "item 3 has no id"


def test_restart_re_emits_nothing_and_sends_a_conditional_get(server, tmp_path):
    read_all(jsonfeed(server, tmp_path))
    assert articles_only(read_all(jsonfeed(server, tmp_path))) == []
    assert server.requests_to("/feed.json")[1].header("If-None-Match") == '"j1"'


def test_not_a_json_feed_is_rejected(server, tmp_path):
    server.route("/feed.json", Reply(body=b'{"version": "something else"}'))
    with pytest.raises(SourceRejected, match="not a JSON Feed"):
        read_all(jsonfeed(server, tmp_path))


def test_options_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="only http and https"):
        connector_for_test(JsonFeedConnector, {"url": "ftp://x.example/feed.json"}, tmp_path)
    assert JsonFeedConnector.options_for_source("https://x.example/feed.json") == {"url": "https://x.example/feed.json"}
    assert JsonFeedConnector.options_for_source("https://x.example/rss.xml") is None  # leaves other feeds to rss


def test_found_through_the_entry_point(tmp_path):
    """Without installing: a dist-info folder on the path is what `pip install` would leave behind."""
    dist_info = tmp_path / "newswire_jsonfeed-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: newswire-jsonfeed\nVersion: 0.1.0\n")
    pyproject = (EXAMPLE / "pyproject.toml").read_text()
    target = pyproject.split('jsonfeed = "', 1)[1].split('"', 1)[0]
    (dist_info / "entry_points.txt").write_text(f"[newswire.connectors]\njsonfeed = {target}\n")
    code = (
        "from pipeline.plugin.registry import connector_class, known_types\n"
        "print(' '.join(known_types()), connector_class('jsonfeed').__module__)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXAMPLE), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    types, module = done.stdout.rsplit(" ", 1)
    assert {"files", "jsonfeed", "rss"} <= set(types.split())
    assert module.strip() == "newswire_jsonfeed.connector"

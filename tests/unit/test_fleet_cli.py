"""`newswire feeds status|add|remove|import`, and a running fleet that takes feeds added and removed on the fly."""

from __future__ import annotations

import argparse
import io
import json
import threading
import time

import pytest

from pipeline.commands.feeds import add_parser
from pipeline.feeds.store import FeedFile
from pipeline.plugin import FeedServer, Reply
from pipeline.runtime.fleet import Fleet
from pipeline.runtime.sources import LocalSources
from pipeline.settings import load_settings
from tests.unit.test_cli import newswire
from tests.unit.test_fleet import RSS_TYPE, Collect, feed

GUARD = 60.0


def feeds_command(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="newswire")
    parser.add_argument("--log-level", default=None)
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["feeds", *argv])
    out = io.StringIO()
    code = args.func(args, out=out)
    return code, out.getvalue()


def opml_of(urls: list[str]) -> str:
    outlines = "".join(f'<outline type="rss" title="Feed {n}" xmlUrl="{url}"/>' for n, url in enumerate(urls))
    return f'<?xml version="1.0"?><opml version="2.0"><body><outline text="News">{outlines}</outline></body></opml>'


def wait_until(predicate, what: str) -> None:
    deadline = time.monotonic() + GUARD
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def servers():
    running = [FeedServer(host=f"127.0.2.{n}").start() for n in (1, 2, 3)]
    yield running
    for server in running:
        server.stop()


def test_import_an_opml_file_into_the_fleet_and_watch_feeds_status(servers, write_config, tmp_path):
    ok, gone, busy = servers
    ok.route("/feed.xml", Reply(body=feed("urn:a", "urn:b", "urn:c"), headers=RSS_TYPE))
    gone.route("/feed.xml", Reply(status=404, body=b"no such feed"))
    busy.route("/feed.xml", Reply(status=429, headers={"Retry-After": "3600"}))
    config = write_config(connectors=[{"type": "feeds", "name": "world", "host_delay": 0}])
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(opml_of([s.url("/feed.xml") for s in servers]), encoding="utf-8")

    assert feeds_command("import", str(opml), "-c", str(config)) == (0, f"added 3 feeds from {opml} to fleet world\n")
    assert feeds_command("import", str(opml), "-c", str(config))[1].endswith("(3 already there)\n")
    code, table = feeds_command("status", "-c", str(config))
    assert code == 0 and table.count(" new ") == 3 and "3 feeds: 3 new" in table

    settings = load_settings(config)
    Fleet(LocalSources(settings), Collect(), settings, once=True, stop=threading.Event()).run()

    code, table = feeds_command("status", "-c", str(config))
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["feed", "state", "last"]
    row = {line.split()[0]: line for line in lines[1:-1]}
    assert " ok " in row[ok.url("/feed.xml")] and row[ok.url("/feed.xml")].split()[-2:] == ["3", "0"]
    assert "failing since" in row[gone.url("/feed.xml")] and "(hard)" in row[gone.url("/feed.xml")]
    assert "HTTP 404" in row[gone.url("/feed.xml")]
    assert "throttled until" in row[busy.url("/feed.xml")]
    assert lines[-1] == "3 feeds: 1 ok, 1 failing, 1 throttled"

    code, text = feeds_command("status", "-c", str(config), "--json")
    rows = {r["url"]: r for r in map(json.loads, text.splitlines())}
    assert rows[ok.url("/feed.xml")]["items_24h"] == 3 and rows[ok.url("/feed.xml")]["status"] == "ok"
    assert rows[gone.url("/feed.xml")]["failures"] == 1 and rows[gone.url("/feed.xml")]["last_error"].startswith("HTTP 404")
    assert rows[busy.url("/feed.xml")]["throttled_until"] and rows[busy.url("/feed.xml")]["fleet"] == "world"


def test_feeds_added_and_removed_while_the_fleet_runs(servers, write_config):
    first, second, _ = servers
    first.route("/feed.xml", Reply(body=feed("urn:first:1"), headers=RSS_TYPE))
    second.route("/feed.xml", Reply(body=feed("urn:second:1"), headers=RSS_TYPE))
    config = write_config(connectors=[{"type": "feeds", "name": "world", "host_delay": 0, "interval": 600,
                                       "urls": [first.url("/feed.xml")]}])
    settings = load_settings(config)
    origin = time.time()
    clock = lambda: origin + (time.time() - origin) * 3600  # noqa: E731 - one second is an hour: polls every 0.17 s
    stop = threading.Event()
    output = Collect()
    fleet = Fleet(LocalSources(settings), output, settings, once=False, stop=stop, clock=clock)
    runner = threading.Thread(target=fleet.run)
    runner.start()
    try:
        wait_until(lambda: first.count("/feed.xml") >= 2, "the configured feed to be polled again")
        code, said = feeds_command("add", second.url("/feed.xml"), "-c", str(config))
        assert code == 0 and said.startswith("added world/127.0.2.2-")
        wait_until(lambda: second.count("/feed.xml") >= 2, "the added feed to be polled, and polled again")
        assert "urn:second:1" in [a.id for a in output.articles]

        code, said = feeds_command("remove", second.url("/feed.xml"), "-c", str(config))
        assert code == 0 and said.startswith("removed world/127.0.2.2-")
        wait_until(lambda: not any(key.endswith(said.split()[1]) for key in fleet.sources), "the removed feed to retire")
        polled = second.count("/feed.xml")
        before = first.count("/feed.xml")
        wait_until(lambda: first.count("/feed.xml") >= before + 3, "three more polls of the feed that stays")
        assert second.count("/feed.xml") == polled, "a removed feed is not polled any more"
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()


def test_feeds_commands_as_a_user_runs_them(tmp_path):
    config = tmp_path / "newswire.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nconnectors: []\n", encoding="utf-8")
    added = newswire("feeds", "add", "https://harbour.example/feed.xml", "-c", str(config))
    assert added.returncode == 0, added.stderr.decode()
    assert added.stdout.decode().startswith("added feeds/harbour.example-")
    status = newswire("feeds", "status", "--json", "-c", str(config))
    [row] = [json.loads(line) for line in status.stdout.decode().splitlines()]
    assert (row["url"], row["status"], row["fleet"]) == ("https://harbour.example/feed.xml", "new", "feeds")
    bad = newswire("feeds", "add", "javascript:alert(1)", "-c", str(config))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr.decode() and "only http and https" in bad.stderr.decode()
    gone = newswire("feeds", "remove", "https://harbour.example/feed.xml", "-c", str(config))
    assert gone.returncode == 0 and FeedFile(tmp_path / "data").load() == {}
    missing = newswire("feeds", "remove", "https://harbour.example/feed.xml", "-c", str(config))
    assert missing.returncode == 2 and "no feed" in missing.stderr.decode()

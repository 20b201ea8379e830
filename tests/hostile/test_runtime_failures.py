"""Class 1, the runtime half: one bad answer must not stop everything.

A connector that raises anything (not only SourceError), or yields something that is not a
record, costs one line and one dead letter; the connectors after it are read; a continuous run
goes on; `fetch` of several sources goes on after a bad one. (The HTTP half, unusable Location
targets, item links and the per-request deadline, is tests/hostile/test_http_*.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import SecretStr

from pipeline.plugin import Article, Connector, ConnectorContext, ConnectorOptions, FeedServer, Record, Reply
from tests.conftest import REPO
from tests.hostile.harness import SECRET, Embedded, check_contained, contained, stop_after_rounds


class TokenOptions(ConnectorOptions):
    token: SecretStr = SecretStr("")
    interval: float = 1.0


class Exploding(Connector):
    """Yields one good article, then fails the way `options` says (with its secret in the message)."""

    type = "exploding"
    Options = TokenOptions
    failure: BaseException | None = None

    def read(self):
        yield Record(Article(id=f"{self.name}-1", title="Before", body="Maria Lopez spoke."))
        token = self.options.token.get_secret_value()
        raise type(self).failure or RuntimeError(f"upstream said no to token {token} at https://user:{token}@x.example/")


class KeyErrorConnector(Exploding):
    failure = KeyError("guid")


class RecursionConnector(Exploding):
    failure = RecursionError("maximum recursion depth exceeded")


class Junk(Connector):
    type = "junk"
    Options = TokenOptions

    def read(self):
        yield "not a record"


class BadInterval(Connector):
    type = "badinterval"
    Options = TokenOptions

    @property
    def interval(self):
        raise ZeroDivisionError("interval of a feed with ttl 0")

    def read(self):
        yield Article(id="interval-1", title="Fine", body="Still read.")


def _run_mixed(home, bad_classes, *, once: bool, rounds: int = 1):
    """The embedded runtime's own output over [bad connectors..., a files connector of good stories]."""
    good = home / "good"
    good.mkdir()
    for number in range(3):
        (good / f"story{number}.txt").write_text(f"Story {number}\nJoao Silva said {number}.", encoding="utf-8")
    embedded = Embedded(home, [{"type": "files", "name": "good", "path": str(good), "interval": 1}])

    def work():
        import threading

        from pipeline.checkpoint import Checkpoint, CheckpointFiles
        from pipeline.plugin.registry import build_connector
        from pipeline.runtime.embedded import EmbeddedRuntime
        from pipeline.runtime.loop import run_connectors
        from pipeline.runtime.sources import open_configured
        from tests.conftest import FakeEnricher

        settings = embedded.settings()
        runtime = EmbeddedRuntime(settings, enricher=FakeEnricher())
        bad = []
        for number, cls in enumerate(bad_classes):
            context = ConnectorContext(settings.data_dir, settings.limits, Checkpoint(CheckpointFiles(settings.data_dir), f"bad{number}"))
            bad.append(build_connector(cls, f"bad{number}", {"token": SECRET}, context))
        connectors = bad + [source.connector for source in open_configured(settings)]
        stop, reads = threading.Event(), []

        def progress(connector, report):
            reads.append(connector.name)

        with runtime.index, stop_after_rounds(stop, rounds * len(connectors)) as done:
            runtime.index.setup()
            report = run_connectors(connectors, runtime.deliver, batch_size=2, once=once, stop=stop, progress=progress)
        return report.read, reads, list(done)

    return embedded, contained(work)


@pytest.mark.parametrize("bad", [Exploding, KeyErrorConnector, RecursionConnector, Junk, BadInterval])
def test_a_connector_that_raises_anything_costs_one_line_and_one_letter(tmp_path, bad):
    embedded, outcome = _run_mixed(tmp_path, [bad], once=True)
    index = embedded.indexed()
    check_contained(outcome, letters=embedded.letters(), index=index,
                    indexed=[f"good/story{n}.txt" for n in range(3)])
    failures = [line for line in outcome.lines if "connector failed" in line]
    if bad is BadInterval:
        assert "interval-1" in index and any("interval" in line for line in outcome.lines)
        return
    assert len(failures) == 1, outcome.lines
    [letter] = [l for l in embedded.letters() if l.source.get("name") == "bad0"]
    assert letter.stage == "connector" and letter.reason.startswith("connector failed: ")
    expected = {Exploding: "RuntimeError", KeyErrorConnector: "KeyError", RecursionConnector: "RecursionError",
                Junk: "TypeError"}[bad]
    assert expected in letter.reason and expected in failures[0]
    if bad is Exploding:
        assert "bad0-1" in index, "what it yielded before failing was delivered"
        assert "***" in letter.reason, "the secret and the URL credentials are masked"


def test_a_continuous_run_outlives_a_failing_connector_and_reads_the_others_every_round(tmp_path):
    embedded, outcome = _run_mixed(tmp_path, [Exploding, Junk], once=False, rounds=3)
    check_contained(outcome, letters=embedded.letters(), index=embedded.indexed(),
                    indexed=[f"good/story{n}.txt" for n in range(3)])
    read, delivered, done = outcome.value
    assert done.count("good") >= 2 and done.count("bad0") >= 2, f"every connector read again each round: {done}"
    assert "good" in delivered and "bad0" in delivered
    assert sum("connector failed" in line for line in outcome.lines) >= 4, "one line per failure, every round"
    assert len([l for l in embedded.letters() if l.source.get("name") == "bad0"]) == 1, "the same failure is kept once"


def test_a_feed_whose_redirect_is_unusable_does_not_stop_the_run(tmp_path):
    """A real rss connector whose redirect names a port out of range, beside a folder: the folder is indexed."""
    good = tmp_path / "good"
    good.mkdir()
    (good / "a.txt").write_text("A title\nA body by Maria Lopez.", encoding="utf-8")
    with FeedServer() as server:
        server.route("/feed", Reply.redirect("http://127.0.0.1:99999/feed"))
        server.route("/js", Reply.redirect("javascript:alert(1)"))
        embedded = Embedded(tmp_path, [
            {"type": "rss", "name": "port", "url": server.url("/feed")},
            {"type": "rss", "name": "js", "url": server.url("/js")},
            {"type": "files", "name": "good", "path": str(good)},
        ])
        outcome = embedded.run()
    letters = embedded.letters()
    check_contained(outcome, letters=letters, index=embedded.indexed(), indexed=["good/a.txt"])
    assert {l.source.get("name") for l in letters} == {"port", "js"}
    assert all(l.stage == "connector" for l in letters)


def test_fetch_of_several_sources_goes_on_after_a_bad_one(tmp_path):
    first, last = tmp_path / "first.txt", tmp_path / "last.txt"
    first.write_text("First\nBody one.", encoding="utf-8")
    last.write_text("Last\nBody two.", encoding="utf-8")
    sources = [str(first), str(tmp_path / "missing"), "http://127.0.0.1:99999/feed", "ftp://x.example/f", str(last)]
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "fetch", *sources],
                            capture_output=True, cwd=REPO, timeout=120)
    titles = [json.loads(line)["title"] for line in result.stdout.decode().splitlines()]
    assert titles == ["First", "Last"]
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 3 and all(line.startswith("newswire: ") for line in lines), lines
    assert "missing" in lines[0] and "port out of range" in lines[1] and "ftp" in lines[2]


def test_a_plugin_whose_setup_fails_unexpectedly_is_a_config_error_naming_it(tmp_path, monkeypatch):
    from pipeline.errors import ConfigError
    from pipeline.plugin import registry
    from pipeline.runtime.sources import open_configured

    class Broken(Connector):
        type = "broken"

        def setup(self):
            raise OSError("socket table full")

        def read(self):
            return iter(())

    original = registry.connector_class
    monkeypatch.setattr(registry, "connector_class", lambda name: Broken if name == "broken" else original(name))
    embedded = Embedded(tmp_path, [{"type": "broken", "name": "b"}])
    with pytest.raises(ConfigError, match=r"connector 'b' \(broken\) cannot start: OSError: socket table full"):
        open_configured(embedded.settings())

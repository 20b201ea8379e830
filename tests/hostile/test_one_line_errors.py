"""Class 6: errors promised as one line are one line, never a traceback.

A full disk (RLIMIT_FSIZE: a write past it fails with EFBIG, as ENOSPC does), a damaged
dead-letter store (which must not block `deadletter list` or `replay`), binary, deeply nested or
oversized configs, environment values that should be JSON, absurd numbers (--limit, timeouts,
intervals, limits) and ports out of range.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import pytest

from pipeline.cli import main
from pipeline.deadletter import DeadLetter
from pipeline.runtime.deadletters import DeadLetterFile
from tests.conftest import REPO
from tests.hostile.harness import Embedded, check_contained, contained


def one_line(capsys, code: int, *fragments: str) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _stories(root, count: int) -> None:
    root.mkdir()
    for number in range(count):
        (root / f"story{number:03}.txt").write_text(
            f"Story {number}\n" + f"Maria Lopez spoke about item {number} in Lisbon. " * 40, encoding="utf-8")


def _fsize(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_is_one_line_commits_nothing_and_the_rerun_loses_nothing(tmp_path):
    """`newswire run --once` with the real model, on a disk that fills up after the index is created."""
    _stories(tmp_path / "news", 120)
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(tmp_path / "news")}],
                        nlp={"batch_size": 40})
    from pipeline.index.embedded import EmbeddedIndex

    with EmbeddedIndex(embedded.data_dir / "index.sqlite") as index:
        index.setup()
    room = (embedded.data_dir / "index.sqlite").stat().st_size + 64 * 1024  # the index exists; its writes fill the disk
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    full = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--once", "-c", str(embedded.config)],
                          capture_output=True, cwd=REPO, env=environment, timeout=300, preexec_fn=_fsize(room))
    err = full.stderr.decode()
    assert full.returncode == 1 and "Traceback" not in err, err
    assert err.splitlines() == [line for line in err.splitlines() if line.startswith("newswire: error: ")], err
    assert "cannot be written" in err and len(err.splitlines()) == 1, err
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--once", "-c", str(embedded.config)],
                          capture_output=True, cwd=REPO, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert len(embedded.indexed()) == 120 and embedded.letters() == [], "nothing lost, nothing doubled, no letter"


def test_a_continuous_run_on_a_full_disk_goes_on_and_commits_nothing(tmp_path):
    _stories(tmp_path / "news", 120)
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(tmp_path / "news"), "interval": 1}],
                        nlp={"batch_size": 40})
    check_contained(embedded.run(), index=embedded.indexed(), indexed=["news/story000.txt"])  # the index exists
    for number in range(120, 240):
        (tmp_path / "news" / f"story{number:03}.txt").write_text(f"Story {number}\n" + "More text. " * 200, encoding="utf-8")
    size = (embedded.data_dir / "index.sqlite").stat().st_size
    outcome = embedded.run(once=False, rounds=2, file_size=size + 64 * 1024)
    check_contained(outcome)
    assert sum("batch not delivered" in line and "cannot be written" in line for line in outcome.lines) >= 2, outcome.lines
    final = embedded.run()
    check_contained(final)
    assert len(embedded.indexed()) == 240, "what the full disk refused was read again"


def test_a_damaged_dead_letter_store_does_not_block_list_or_replay(tmp_path, capsys):
    embedded = Embedded(tmp_path, [])
    store = embedded.data_dir / "deadletter.jsonl"
    store.parent.mkdir(parents=True)
    good = DeadLetter.of("enrich", "poisoned", json.dumps({"id": "a1", "title": "Fixed", "body": "Maria Lopez spoke."}),
                         article_id="a1")
    store.write_bytes(
        good.to_json().encode() + b"\n"
        + b'{"stage": "sink", "reason": "caf\xe9 \xff"}\n'          # an invalid byte
        + b"[" * 50_000 + b"]" * 50_000 + b"\n"                   # nested beyond any parser's limit
        + b'{"stage": "connector", "payload_encoding": "base64", "payload": "!!!", "reason": "bad base64"}\n'
        + b'{"stage": "connector", "reason": "torn by a cra'      # a crash mid-append
    )
    assert main(["deadletter", "list", "-c", str(embedded.config)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 5 and sum("stage=decode" in line for line in listed) == 3, listed

    def replay():
        from pipeline.runtime.deadletters import replay_deadletters
        from tests.conftest import FakeEnricher

        return replay_deadletters(embedded.settings(), enricher=FakeEnricher())

    outcome = contained(replay)
    check_contained(outcome, index=embedded.indexed(), indexed=["a1"])
    assert outcome.value == (1, 4)
    DeadLetterFile(store).append([DeadLetter.of("connector", "after the torn line")])
    letters = DeadLetterFile(store).read()
    assert len(letters) == 5 and letters[-1].reason == "after the torn line", "an append never extends a torn line"


CONFIGS = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "is not UTF-8 text"),
    "nul": (b"data_dir: x\x00\n", "is not valid YAML"),
    "nested": (b"connectors: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "nested too deeply"),
    "huge": (b"# " + b"x" * (17 * 1024 * 1024) + b"\n", "is over 16777216 bytes"),
    "infinite timeout": (b"limits: {http_timeout: .inf}\n", "config key 'limits.http_timeout'"),
    "nan timeout": (b"limits: {http_timeout: .nan}\n", "config key 'limits.http_timeout'"),
    "huge limit": (b"limits: {max_file_bytes: 1000000000000000000000000000000}\n", "config key 'limits.max_file_bytes'"),
    "huge batch": (b"nlp: {batch_size: 1000000000000}\n", "config key 'nlp.batch_size'"),
    "es port": (b"elasticsearch: {hosts: 'http://127.0.0.1:99999'}\n", "port out of range"),
    "kafka port": (b"kafka: {bootstrap_servers: '127.0.0.1:70000'}\n", "port out of range"),
    "rss port": (b"connectors: [{type: rss, name: f, url: 'http://127.0.0.1:99999/feed'}]\n", "port out of range"),
    "rss not http": (b"connectors: [{type: rss, name: f, url: 'javascript:alert(1)'}]\n", "only http and https"),
    "infinite interval": (b"connectors: [{type: files, name: f, path: /tmp, interval: .inf}]\n", "key 'interval'"),
    "rss infinite interval": (b"connectors: [{type: rss, name: f, url: 'http://127.0.0.1/f', interval: .inf}]\n", "key 'interval'"),
    "rss nan interval": (b"connectors: [{type: rss, name: f, url: 'http://127.0.0.1/f', interval: .nan}]\n", "key 'interval'"),
    "rss interval of an age": (b"connectors: [{type: rss, name: f, url: 'http://127.0.0.1/f', interval: 1e12}]\n", "key 'interval'"),
    "rss zero interval": (b"connectors: [{type: rss, name: f, url: 'http://127.0.0.1/f', interval: 0}]\n", "key 'interval'"),
    "rss infinite host_delay": (b"connectors: [{type: rss, name: f, url: 'http://127.0.0.1/f', host_delay: .inf}]\n",
                                "key 'host_delay'"),
    "fleet infinite interval": (b"connectors: [{type: feeds, name: w, urls: ['http://127.0.0.1/f'], interval: .inf}]\n",
                                "interval"),
    "fleet bounds": (b"fleet: {max_interval: .inf}\n", "config key 'fleet.max_interval'"),
    "fleet backoff of an age": (b"fleet: {max_backoff: 1e12}\n", "config key 'fleet.max_backoff'"),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_a_hostile_config_is_one_line(tmp_path, capsys, name):
    content, fragment = CONFIGS[name]
    config = tmp_path / "newswire.yaml"
    config.write_bytes(content)
    assert main(["run", "--once", "-c", str(config)]) == 2
    one_line(capsys, 2, "newswire: configuration error: ", fragment)


@pytest.mark.parametrize("variable, value, fragment", [
    ("NEWSWIRE_CONNECTORS", "not json", "NEWSWIRE_CONNECTORS is not valid JSON"),
    ("NEWSWIRE_CONNECTORS", '[{"type": "files"', "NEWSWIRE_CONNECTORS is not valid JSON"),
    ("NEWSWIRE_LIMITS__HTTP_TIMEOUT", "inf", "limits.http_timeout"),
    ("NEWSWIRE_LIMITS__HTTP_TIMEOUT", "1e400", "limits.http_timeout"),
    ("NEWSWIRE_ELASTICSEARCH__HOSTS", "http://127.0.0.1:123456", "port out of range"),
])
def test_hostile_environment_values_are_one_line(tmp_path, capsys, monkeypatch, variable, value, fragment):
    config = tmp_path / "newswire.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    monkeypatch.setenv(variable, value)
    assert main(["run", "--once", "-c", str(config)]) == 2
    one_line(capsys, 2, fragment)


@pytest.mark.parametrize("args", [
    ["search", "x", "--limit", "1" + "0" * 30],
    ["search", "x", "--limit", "0"],
    ["search", "x", "--limit", "-5"],
    ["search", "x", "--limit", "ten"],
    ["deadletter", "list", "--limit", "9" * 40],
    ["deadletter", "list", "--limit", "0"],
])
def test_an_absurd_limit_is_a_usage_line(capsys, args):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--limit" in err and ("at most" in err or "whole number" in err), err


def test_an_overlong_query_is_one_line(tmp_path, capsys):
    config = tmp_path / "newswire.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    assert main(["search", "-c", str(config), "word " * 1000]) == 2
    one_line(capsys, 2, "over 2000 characters")

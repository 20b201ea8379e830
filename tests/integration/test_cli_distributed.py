"""The CLI a user runs against the real broker and node: setup, run --once, search, dead letters."""

import json

import pytest

from tests.integration.support import corpus, write_pipeline_config
from tests.unit.test_cli import newswire

pytestmark = pytest.mark.integration


def test_setup_run_once_and_search_through_kafka_and_elasticsearch(tmp_path, kafka_bootstrap, es_hosts, unique_name):
    articles = corpus(tmp_path / "articles")
    (articles / "broken.jsonl").write_text('{"id": "nobody"}\n', encoding="utf-8")
    config = write_pipeline_config(tmp_path, unique_name, kafka_bootstrap, es_hosts, articles)

    setup = newswire("setup", "-c", str(config))
    assert setup.returncode == 0, setup.stderr.decode()
    assert "created" in setup.stderr.decode()

    run = newswire("run", "--once", "-c", str(config))
    assert run.returncode == 0, run.stderr.decode()
    assert "read 13 article(s), indexed 13, dead-lettered 1" in run.stderr.decode()

    found = newswire("search", "-c", str(config), "Blinken", "--speaker", "Antony Blinken", "--json")
    hits = [json.loads(line) for line in found.stdout.decode().splitlines()]
    assert [h["id"] for h in hits] == ["news/000_8b8c846030eca38d.txt"]
    assert {q["speaker"] for q in hits[0]["quotes"] if q["text"].startswith(("As we stand", "So this is"))} == {"Antony Blinken"}

    readable = newswire("search", "-c", str(config), "harbour")
    assert "Valletta harbour reopens" in readable.stdout.decode() and "[" not in readable.stdout.decode().split("\n")[2]

    letters = newswire("deadletter", "list", "-c", str(config), "--json")
    listed = [json.loads(line) for line in letters.stdout.decode().splitlines()]
    assert len(listed) == 1 and listed[0]["stage"] == "connector" and "field 'title'" in listed[0]["reason"]

    again = newswire("run", "--once", "-c", str(config))
    assert again.returncode == 0 and "read 0 article(s)" in again.stderr.decode()

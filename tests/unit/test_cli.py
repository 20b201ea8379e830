"""The `newswire` command as a user runs it: a real process, the real spaCy model, the embedded index."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS

NEWSWIRE = [sys.executable, "-m", "pipeline.cli"]


def newswire(*args, stdin: bytes | None = None, cwd: Path = REPO, env: dict | None = None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    environment.update(env or {})
    return subprocess.run(
        [*NEWSWIRE, *args], input=stdin, capture_output=True, cwd=cwd, env=environment, timeout=300
    )


def assert_clean_error(result, *fragments):
    err = result.stderr.decode()
    assert result.returncode != 0
    assert "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """`newswire run --once -c CFG` over seeds/, as the README's first command does."""
    home = tmp_path_factory.mktemp("seeded")
    config = home / "newswire.yaml"
    config.write_text(
        f"data_dir: {home / 'data'}\nconnectors:\n  - {{type: files, name: seeds, path: {SEEDS}}}\n", encoding="utf-8"
    )
    result = newswire("run", "--once", "-c", str(config))
    assert result.returncode == 0, result.stderr.decode()
    assert "indexed 1" in result.stderr.decode()
    return config


def test_search_json_returns_the_seed_with_its_quotes_and_entities(seeded):
    result = newswire("search", "-c", str(seeded), "Blinken", "--json")
    assert result.returncode == 0, result.stderr.decode()
    hits = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(hits) == 1
    seed = hits[0]
    assert seed["id"] == "seeds/000_8b8c846030eca38d.txt" and isinstance(seed["score"], float)
    assert seed["title"].startswith("Blinken says gap remains")
    assert len(seed["quotes"]) >= 2
    for quote in seed["quotes"]:
        assert seed["body"][quote["start"]:quote["end"]] == quote["text"]
    starts = {q["text"][:40]: q["speaker"] for q in seed["quotes"]}
    assert starts["As we stand here almost a week into this"] == "Antony Blinken"
    assert starts["So this is something that we're talking "] == "Antony Blinken"
    names = {e["name"] for e in seed["entities"]}
    assert {"Antony Blinken", "David Cameron", "Kamala Harris", "Lloyd Austin", "Hamas", "Israel", "Gaza"} <= names
    assert "Antony Blinken" in seed["people"] and "Antony Blinken" in seed["speakers"]


def test_search_filters_and_readable_output(seeded):
    readable = newswire("search", "-c", str(seeded), "gap", "--speaker", "Blinken")
    out = readable.stdout.decode()
    assert readable.returncode == 0 and "Blinken says gap remains" in out and "— Antony Blinken" in out
    assert "People:" in out and "David Cameron" in out
    firsts = [line.lstrip() for line in out.splitlines()]
    direct = [i for i, line in enumerate(firsts) if line.startswith("“")]
    reported = [i for i, line in enumerate(firsts) if line.startswith("reported (said): ")]
    assert direct and reported and max(direct) < min(reported), "his direct quotes first, then what he is reported to have said"
    none = newswire("search", "-c", str(seeded), "Blinken", "--person", "Nobody Here", "--json")
    assert none.returncode == 0 and none.stdout == b""


def test_running_again_indexes_nothing_new(seeded):
    result = newswire("run", "--once", "-c", str(seeded))
    assert result.returncode == 0 and "read 0 article(s)" in result.stderr.decode()


def test_fetch_prints_articles_and_reports_bad_files(tmp_path):
    (tmp_path / "good.txt").write_text("A title\nA body.", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\x00\xff\x00")
    result = newswire("fetch", str(tmp_path))
    articles = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [a["id"] for a in articles] == [f"{tmp_path.name}/good.txt"]
    assert_clean_error(result, "bad.txt", "binary file")
    assert result.returncode == 1


def test_fetch_of_a_missing_source_is_one_line(tmp_path):
    assert_clean_error(newswire("fetch", str(tmp_path / "nope")), "no connector reads")


def test_enrich_keeps_order_and_goes_on_past_bad_lines():
    seed = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8").split("\n", 1)
    good = json.dumps({"id": "s", "title": seed[0], "body": seed[1]})
    lines = [
        good,
        "{not json",
        json.dumps({"id": "t", "title": "no body"}),
        json.dumps({"id": "u", "title": "Short", "body": "Vice President Kamala Harris visited Paris on Monday, officials said."}),
        "",
    ]
    result = newswire("enrich", stdin=("\n".join(lines) + "\n").encode() + b"\xff\xfe\n")
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [a["id"] for a in out] == ["s", "u"]
    assert "Kamala Harris" in out[1]["people"]
    assert_clean_error(result, "line 2: not valid JSON", "line 3: field 'body'", "line 6: not UTF-8", "3 bad line(s)")


def test_search_before_any_run_and_bad_config_are_clean_errors(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"data_dir: {tmp_path / 'empty'}\n", encoding="utf-8")
    assert_clean_error(newswire("search", "-c", str(config), "x"), "nothing is indexed yet")
    config.write_text("kafka: {bootstrap: x}\n", encoding="utf-8")
    assert_clean_error(newswire("run", "--once", "-c", str(config)), "config key 'kafka.bootstrap': unknown key")
    assert_clean_error(newswire("search", "x", env={"NEWSWIRE_NLP__BATCH": "3"}), "NEWSWIRE_NLP__BATCH")


def test_embedded_dead_letters_can_be_listed_and_replayed(tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    (news / "a.jsonl").write_text('{"id": "x1", "title": "T", "body": "Lloyd Austin spoke."}\n{"id": 5}\n', encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nconnectors: [{{type: files, name: news, path: {news}}}]\n", encoding="utf-8")
    assert newswire("run", "--once", "-c", str(config)).returncode == 0
    listed = newswire("deadletter", "list", "-c", str(config))
    assert listed.returncode == 0 and "stage=connector" in listed.stdout.decode() and "field 'id'" in listed.stdout.decode()
    replay = newswire("deadletter", "replay", "-c", str(config))
    assert replay.returncode == 0 and "replayed 0 record(s); 1 still dead-lettered" in replay.stderr.decode()


def test_unreachable_services_are_one_clear_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nkafka: {{bootstrap_servers: '127.0.0.1:9', request_timeout_ms: 2000, bootstrap_timeout_ms: 2000}}\n"
        "elasticsearch: {hosts: ['http://127.0.0.1:9'], request_timeout: 2}\n",
        encoding="utf-8",
    )
    search = newswire("search", "-c", str(config), "Blinken")
    assert_clean_error(search, "Elasticsearch at http://127.0.0.1:9 is unreachable")
    assert len(search.stderr.decode().splitlines()) == 1, "one line, not the client's retry log"
    assert_clean_error(newswire("worker", "connectors", "-c", str(config)), "Kafka at 127.0.0.1:9 is unreachable")
    assert_clean_error(newswire("setup", "-c", str(config)), "Kafka at 127.0.0.1:9 is unreachable")

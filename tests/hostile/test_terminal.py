"""Class 5: what reaches a terminal, and what is stored.

File names, feed titles, reasons and ids holding newlines or ANSI / OSC escape sequences are
shown escaped wherever the CLI prints them (a forged "read 999 articles" line or a changed
terminal title cannot be printed); stored text has no NUL or control characters; titles and
fields are capped; an article's `url` is only ever http(s).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from rich.console import Console

from pipeline.article import MAX_TITLE_CHARS, Article, EnrichedArticle, Quote
from pipeline.commands.console import configure_logging, printable, render_hits, safe_json
from pipeline.deadletter import DeadLetter
from pipeline.index.embedded import EmbeddedIndex
from pipeline.plugin import FeedServer, Reply
from pipeline.runtime.deadletters import DeadLetterFile
from pipeline.search import SearchHit
from tests.conftest import REPO
from tests.hostile.harness import Embedded, check_contained

FORGED = "\nnewswire: read 999 article(s), indexed 999, dead-lettered 0\x1b]0;owned\x07\x1b[2J\u202egnp.exe"
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


def newswire(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_")}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, cwd=cwd,
                          env=environment, timeout=120)


def assert_clean(text: str, lines: int | None = None) -> None:
    for control in CONTROLS:
        assert control not in text, f"{control!r} reached the terminal: {text!r}"
    shown = text.splitlines()
    assert not any(line.startswith("newswire: read 999") for line in shown), "a forged line was printed"
    if lines is not None:
        assert len(shown) == lines, shown


def test_hostile_file_names_are_escaped_on_stderr_and_in_ids(tmp_path):
    root = tmp_path / "news"
    root.mkdir()
    (root / f"bad{FORGED}.txt").write_bytes(b"\x00binary")
    (root / f"good{FORGED}.txt").write_text(f"Title{FORGED}\nBody \x9b31m text.", encoding="utf-8")
    result = newswire("fetch", str(root))
    err = result.stderr.decode()
    assert_clean(err, lines=1)
    assert err.startswith("newswire: skipped file") and "binary file" in err and "\\x1b]0;owned\\x07" in err
    [line] = result.stdout.decode().splitlines()
    assert_clean(line)
    article = json.loads(line)
    assert article["id"].startswith("news/good\\x0anewswire: read 999") and "\n" not in article["id"]
    assert article["title"] == "Title"
    assert article["body"].startswith("newswire: read 999") and not any(c in article["body"] for c in "\x1b\x07\x9b")


def test_dead_letters_are_listed_one_clean_line_each(tmp_path):
    data = tmp_path / "data"
    store = DeadLetterFile(data / "deadletter.jsonl")
    store.append([
        DeadLetter.of("connector", f"reason{FORGED}", b"\x1b[31mpayload", article_id=f"id{FORGED}", path=f"p{FORGED}"),
        DeadLetter.of("enrich", "plain", "{}", article_id="lone \ud800 surrogate"),
    ])
    config = tmp_path / "c.yaml"
    config.write_text(f"data_dir: {data}\n", encoding="utf-8")
    listed = newswire("deadletter", "list", "-c", str(config))
    assert listed.returncode == 0, listed.stderr.decode()
    assert_clean(listed.stdout.decode(), lines=2)
    as_json = newswire("deadletter", "list", "--json", "-c", str(config))
    assert as_json.returncode == 0
    assert_clean(as_json.stdout.decode(), lines=2)
    assert json.loads(as_json.stdout.decode().splitlines()[0])["reason"] == f"reason{FORGED}", "the data is intact"


def test_search_output_escapes_what_an_index_holds(tmp_path):
    """Documents written before this version (or by another writer) may hold anything: the readable output escapes it."""
    dirty = EnrichedArticle.model_construct(
        id=f"id{FORGED}", title=f"Title{FORGED}", body=f"Body{FORGED}", url=f"https://x.example/{FORGED}",
        published_at=None, fetched_at=None, language=None, authors=[], categories=[], source=None, schema_version=1,
        entities=[], quotes=[Quote(text=f"we said{FORGED}", speaker=f"Speaker{FORGED}", start=0, end=1)],
        people=[f"Person{FORGED}"], organizations=[], places=[], speakers=[],
    )
    out = io.StringIO()
    render_hits([SearchHit(dirty, 1.0, [f"snippet [{FORGED}] end"])], Console(file=out, width=400, highlight=False))
    assert_clean(out.getvalue())
    assert "\\x1b]0;owned\\a" in out.getvalue(), "shown escaped, not dropped"
    with EmbeddedIndex(tmp_path / "data" / "index.sqlite") as index:
        index.write([dirty])
    config = tmp_path / "c.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    for args in ((), ("--json",)):
        result = newswire("search", "-c", str(config), *args)
        assert result.returncode == 0, result.stderr.decode()
        assert_clean(result.stdout.decode())


def test_log_lines_are_one_escaped_line_whatever_their_fields_hold():
    stream = io.StringIO()
    previous = sys.stderr
    sys.stderr = stream
    try:
        configure_logging("WARNING")
        logging.getLogger("connectors.test").warning("skipped file path=%s reason=%s", f"a{FORGED}", f"b{FORGED}")
    finally:
        sys.stderr = previous
        configure_logging("WARNING")
    assert_clean(stream.getvalue(), lines=1)


def test_printable_and_safe_json_escape_every_kind_of_control():
    assert printable("a\x1b[31mb\x07c\nd\te\u202ef\ud800g\x9bh") == "a\\x1b[31mb\\ac\\nd\\te\\u202ef\\ud800g\\x9bh"
    value = {"t": "\x9b\u2066\ud800\x7f"}
    line = safe_json(json.dumps(value, ensure_ascii=False))
    assert json.loads(line) == value and line.isascii()
    line.encode("utf-8")  # a lone surrogate no longer makes the write fail


@pytest.mark.parametrize("url, stored", [
    ("https://example.org/a?b=1", "https://example.org/a?b=1"),
    ("javascript:alert(1)", None),
    ("file:///etc/passwd", None),
    ("data:text/html,<script>", None),
    ("http://example.org:99999/a", None),
    ("https:///no-host", None),
    ("https://example.org/a b", None),
    ("https://example.org/" + "a" * 5000, None),
])
def test_only_http_urls_are_stored(url, stored):
    assert Article(id="a", title="T", body="B", url=url).url == stored


def test_stored_text_has_no_controls_and_capped_fields():
    article = Article(
        id="a", title="T\x00i\x1b[2Jtle\r\nline two" + "x" * 5000, body="Line\x00 one\r\nline\x1b two\rthree\x07\tend",
        authors=[f"Ann{FORGED}", "", *[f"A{n}" for n in range(500)]], categories=["c\x00at"], language="en\x1b",
        source={"connector": "files", "name": "n", "feed": f"f{FORGED}"},
    )
    assert article.body == "Line one\nline two\nthree\tend"
    assert len(article.title) == MAX_TITLE_CHARS and article.title.startswith("Ti [2Jtle line two")
    assert not any(c in article.title for c in "\x00\x1b\r\n")
    assert len(article.authors) == 100 and article.authors[0].startswith("Ann newswire: read 999") and "\n" not in article.authors[0]
    assert article.categories == ["cat"] and article.language == "en"
    assert "\n" not in article.source.feed and "\x1b" not in article.source.feed
    article.body = "set \x1b later"
    assert article.body == "set  later", "an assignment is cleaned too"


def test_a_feed_title_with_escape_sequences_is_stored_clean(tmp_path):
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Feed&#27;]0;owned&#7;</title>'
        f"<item><guid>https://x.example/1</guid><title>Headline&#27;[2J&#10;newswire: read 999</title>"
        "<description>Maria Lopez spoke.</description></item></channel></rss>"
    )
    with FeedServer() as server:
        server.route("/feed", Reply(body=feed, headers={"Content-Type": "application/rss+xml"}))
        embedded = Embedded(tmp_path, [{"type": "rss", "name": "wire", "url": server.url("/feed")}])
        outcome = embedded.run()
    index = embedded.indexed()
    check_contained(outcome, letters=embedded.letters(), index=index, indexed=["https://x.example/1"])
    title = index["https://x.example/1"].title
    assert title.startswith("Headline") and not any(c in title for c in ("\x1b", "\n"))

"""Class 3: poison pills fail alone, once; every rerun still indexes the good files beside them.

Deep JSON nesting, integers of thousands of digits, file names that are not UTF-8, an HTML page
of 20 MB (under the file limit) that would take minutes to extract, and a file that makes the
reading code raise: each is one dead letter, and limits apply before the expensive work.
"""

from __future__ import annotations

import json
import os

import pytest

from pipeline.article import parse_article
from pipeline.errors import InvalidArticle, SourceRejected
from pipeline.plugin import extract_page
from tests.hostile.harness import Embedded, check_contained, contained

DEEP = "[" * 100_000 + "]" * 100_000
GOOD = ["news/good1.txt", "news/good2.txt"]


def _folder(tmp_path):
    root = tmp_path / "news"
    root.mkdir()
    (root / "good1.txt").write_text("Good one\nMaria Lopez spoke in Lisbon.", encoding="utf-8")
    (root / "good2.txt").write_text("Good two\nJoao Silva answered.", encoding="utf-8")
    return root


def test_json_poison_fails_alone_and_every_rerun_indexes_the_good_files(tmp_path):
    root = _folder(tmp_path)
    (root / "deep.json").write_text(DEEP, encoding="utf-8")
    (root / "deep.jsonl").write_text(
        json.dumps({"id": "fine-1", "title": "Fine", "body": "Ana Costa wrote."}) + "\n" + DEEP + "\n", encoding="utf-8")
    (root / "field.json").write_text('{"id": "f", "title": ' + "[" * 900 + "]" * 900 + ', "body": "b"}', encoding="utf-8")
    (root / "bigint.json").write_text('{"id": "n", "title": "t", "body": "b", "n": ' + "9" * 5000 + "}", encoding="utf-8")
    (root / "float.json").write_text('{"id": "inf", "title": 1e999, "body": "b"}', encoding="utf-8")
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])
    outcome = embedded.run()
    check_contained(outcome, letters=embedded.letters(), index=embedded.indexed(), indexed=[*GOOD, "fine-1"], dead={
        "deep.json": "not valid JSON: nested too deeply",
        "deep.jsonl#2": "line 2: not valid JSON: nested too deeply",
        "field.json#1": "field 'title'",
        "bigint.json": "not valid JSON: Exceeds the limit (4300 digits)",
        "float.json#1": "field 'title'",
    })
    (root / "good3.txt").write_text("Good three\nA new story.", encoding="utf-8")
    rerun = embedded.run()
    check_contained(rerun, index=embedded.indexed(), indexed=[*GOOD, "news/good3.txt"])
    assert rerun.value == {"read": 1, "indexed": 1, "dead": 0}, "the poison is not read (nor reported) again"


def test_file_names_that_are_not_utf8_are_read_under_a_printable_id(tmp_path):
    root = _folder(tmp_path)
    raw = os.fsencode(root)
    with open(raw + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"Cafe\nA story filed under a Latin-1 name.")
    with open(raw + b"/bin\xff.txt", "wb") as handle:
        handle.write(b"\x00\x01\x02")
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])
    outcome = embedded.run()
    index = embedded.indexed()
    check_contained(outcome, letters=embedded.letters(), index=index, indexed=[*GOOD, "news/caf\\xe9.txt"],
                    dead={"bin\\xff.txt": "binary file"})
    rerun = embedded.run()
    check_contained(rerun)
    assert rerun.value == {"read": 0, "indexed": 0, "dead": 0}


def _tiny_elements(size: int) -> str:
    return "<html><body>" + "<div><span>word</span></div>" * (size // 28) + "</body></html>"


def test_a_20_mb_html_file_is_refused_before_extraction_in_bounded_time_and_memory(tmp_path):
    root = _folder(tmp_path)
    (root / "flat.html").write_text(_tiny_elements(20_000_000), encoding="utf-8")
    paragraph = "<p>" + "Officials said the harbour would reopen on Tuesday after the storm. " * 15 + "</p>"
    (root / "long.html").write_text("<html><body>" + paragraph * 18_000 + "</body></html>", encoding="utf-8")
    (root / "page.html").write_text(
        "<html><head><title>Harbour reopens</title></head><body><article><h1>Harbour reopens</h1>"
        "<p>The harbour of Valletta reopened on Tuesday after three days of closure, port officials said.</p>"
        "<p>Ferries to Gozo resumed their normal schedule in the afternoon, and cargo ships queued outside.</p>"
        "</article></body></html>", encoding="utf-8")
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])
    outcome = embedded.run()  # contained: a deadline and 1 GiB over the start, as every case
    check_contained(outcome, letters=embedded.letters(), index=embedded.indexed(), indexed=[*GOOD, "news/page.html"], dead={
        "flat.html": "HTML page too complex to extract: over 20000 elements",
        "long.html": "HTML page too long to extract",
    })


@pytest.mark.parametrize("html", [_tiny_elements(2_000_000), "<p>" + "x " * 3_000_000 + "</p>"])
def test_extraction_refuses_a_page_past_its_bounds(html):
    with pytest.raises(SourceRejected, match="HTML page too"):
        extract_page(html)


def test_a_file_that_makes_the_reader_raise_fails_alone_once(tmp_path):
    root = _folder(tmp_path)
    (root / "cursed.html").write_text("<html><body><p>Anything</p></body></html>", encoding="utf-8")
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])

    def work():
        import connectors.files

        def explode(html, url=None):
            raise AssertionError("an extractor bug")

        connectors.files.extract_page = explode
        from pipeline.runtime.embedded import EmbeddedRuntime
        from tests.conftest import FakeEnricher

        return EmbeddedRuntime(embedded.settings(), enricher=FakeEnricher()).run(once=True).indexed

    outcome = contained(work)
    check_contained(outcome, letters=embedded.letters(), index=embedded.indexed(), indexed=GOOD,
                    dead={"cursed.html": "could not be read: AssertionError: an extractor bug"})
    assert embedded.run().value["dead"] == 0, "not reported again until the file changes"


@pytest.mark.parametrize("payload, reason", [
    (DEEP.encode(), "nested too deeply"),
    (b'{"id": "n", "title": "t", "body": "b", "n": ' + b"9" * 5000 + b"}", "Exceeds the limit"),
    (b'{"id": "x", "title": "t", "body": "b", "x": ' + b"[" * 900 + b"]" * 900 + b"}", None),
])
def test_a_kafka_record_with_poison_json_is_an_invalid_article(payload, reason):
    if reason is None:  # nesting under the parser's limit in an ignored field: a valid article
        assert parse_article(payload).id == "x"
        return
    with pytest.raises(InvalidArticle, match=reason):
        parse_article(payload)

"""Class 7: housekeeping.

One process works on a data_dir at a time and the second says who holds it; a dead letter is
resolved once its source is fixed and indexed, and the same failure is kept once; a malformed
feed's recovered entry with no title and no body is not indexed empty; UTF-16/32 files with a
byte order mark are text; `%` and `_` are literal in entity filters. (Unreadable files and
folders: test_folders.py.)
"""

from __future__ import annotations

import codecs
import json
import os
import signal

import pytest

from pipeline.article import EnrichedArticle
from pipeline.cli import main
from pipeline.errors import DataDirInUse
from pipeline.index.embedded import EmbeddedIndex
from pipeline.plugin import FeedServer, Reply
from pipeline.runtime.lock import DataDirLock
from pipeline.search import SearchQuery
from tests.hostile.harness import Embedded, check_contained, contained


def _folder(tmp_path):
    root = tmp_path / "news"
    root.mkdir()
    (root / "good.txt").write_text("Good\nMaria Lopez spoke in Lisbon.", encoding="utf-8")
    return root


def test_a_second_run_on_a_data_dir_says_who_holds_it_and_does_nothing(tmp_path, capsys):
    root = _folder(tmp_path)
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])
    with DataDirLock(embedded.data_dir, "newswire run"):
        assert main(["run", "--once", "-c", str(embedded.config)]) == 1
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert f"is in use by pid {os.getpid()} on " in err and "(newswire run, since " in err
        assert main(["deadletter", "replay", "-c", str(embedded.config)]) == 1, "a replay would rewrite the store under it"
        assert "is in use by pid" in capsys.readouterr().err
    assert embedded.indexed() == {} and embedded.letters() == [], "the refused run did nothing"
    check_contained(embedded.run(), index=embedded.indexed(), indexed=["news/good.txt"])


def test_a_lock_dies_with_its_holder_even_after_kill_9(tmp_path):
    data_dir = tmp_path / "data"
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the holder: takes the lock, says so, and waits to be killed
        os.close(reader)
        with DataDirLock(data_dir, "newswire run"):
            os.write(writer, b"locked")
            signal.pause()
        os._exit(0)
    os.close(writer)
    assert os.read(reader, 6) == b"locked"
    with pytest.raises(DataDirInUse, match=f"in use by pid {pid}"):
        DataDirLock(data_dir, "newswire run").__enter__()
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with DataDirLock(data_dir, "newswire run"):
        pass  # the kernel released it; the file left behind blocks nobody


def test_a_dead_letter_is_resolved_once_its_file_is_fixed_and_indexed(tmp_path):
    root = _folder(tmp_path)
    (root / "story.json").write_text('{"id": "story-1", "title": "No body"}', encoding="utf-8")
    (root / "broken.txt").write_bytes(b"Broken \xc3\x28 title\nnot text")
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])
    check_contained(embedded.run(), letters=embedded.letters(), dead={"story-1": "field 'body'", "news/broken.txt": "not UTF-8"})
    (root / "story.json").write_text('{"id": "story-1", "title": "Fixed", "body": "Now it has one."}', encoding="utf-8")
    (root / "broken.txt").write_text("Broken\nNow text.", encoding="utf-8")
    check_contained(embedded.run(), index=embedded.indexed(), indexed=["story-1", "news/broken.txt"])
    assert embedded.letters() == [], "both letters resolved by the articles that replaced them"


def test_a_source_failure_is_kept_once_and_resolved_when_the_feed_delivers(tmp_path):
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><item><guid>https://x.example/1</guid>'
            "<title>Back</title><description>Maria Lopez spoke.</description></item></channel></rss>")
    with FeedServer() as server:
        server.route("/feed", [Reply(status=404), Reply(status=404), Reply(body=feed, headers={"Content-Type": "application/rss+xml"})])
        embedded = Embedded(tmp_path, [{"type": "rss", "name": "wire", "url": server.url("/feed")}])
        first, second = embedded.run(), embedded.run()
        check_contained(first)
        check_contained(second)
        [letter] = embedded.letters()
        assert "HTTP 404" in letter.reason and len(first.lines) == len(second.lines) == 1, "one line each run, one letter kept"
        check_contained(embedded.run(), index=embedded.indexed(), indexed=["https://x.example/1"])
    assert embedded.letters() == [], "the feed delivers again: its failure is resolved"


def test_a_recovered_entry_with_no_title_and_no_body_is_not_indexed_empty(tmp_path):
    broken = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
              b"<item><guid>https://x.example/empty</guid><title></title><description></description></item>"
              b"<item><guid>https://x.example/full</guid><title>Full</title><description>Maria Lopez spoke.</description></item>"
              b"<item><guid>https://x.example/torn</guid><title>")
    with FeedServer() as server:
        server.route("/feed", Reply(body=broken, headers={"Content-Type": "application/rss+xml"}))
        embedded = Embedded(tmp_path, [{"type": "rss", "name": "wire", "url": server.url("/feed")}])
        outcome = embedded.run()
    index = embedded.indexed()
    letters = embedded.letters()
    check_contained(outcome, letters=letters, index=index, indexed=["https://x.example/full"])
    assert all(article.title or article.body for article in index.values()), "nothing indexed empty"
    assert "https://x.example/empty" not in index
    assert any(l.article_id == "https://x.example/empty" and l.reason == "no title and no body" for l in letters)


@pytest.mark.parametrize("codec, bom", [
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE), ("utf-8", codecs.BOM_UTF8),
])
def test_files_with_a_byte_order_mark_are_text(tmp_path, codec, bom):
    root = tmp_path / "news"
    root.mkdir()
    (root / "story.txt").write_bytes(bom + "Überschrift\nJoão Silva sprach in Köln.".encode(codec))
    (root / "story.json").write_bytes(bom + json.dumps({"id": "j", "title": "T", "body": "Zoë"}).encode(codec))
    (root / "nobom.txt").write_bytes("No mark\nbody".encode("utf-16-le"))
    (root / "badsurrogate.txt").write_bytes(codecs.BOM_UTF16_LE + b"T\x00\x00\xd8\x0a\x00")
    embedded = Embedded(tmp_path, [{"type": "files", "name": "news", "path": str(root)}])
    outcome = embedded.run()
    index = embedded.indexed()
    dead = {"news/nobom.txt": "binary file"}
    if codec == "utf-16-le":
        dead["news/badsurrogate.txt"] = "not UTF-16 text"
    check_contained(outcome, letters=embedded.letters(), index=index, indexed=["news/story.txt", "j"], dead=dead)
    assert index["news/story.txt"].title == "Überschrift" and index["j"].body == "Zoë"


def test_percent_and_underscore_are_literal_in_entity_filters(tmp_path):
    with EmbeddedIndex(tmp_path / "index.sqlite") as index:
        index.write([
            EnrichedArticle(id="a", title="A", body="a", people=["Ann Lee"], organizations=["100% Media"]),
            EnrichedArticle(id="b", title="B", body="b", people=["Bob_Ray"], organizations=["Acme"]),
        ])

        def found(**facets):
            return sorted(hit.article.id for hit in index.search(SearchQuery(**facets)))

        assert found(person="%") == [] and found(person="_") == [] and found(org="%") == []
        assert found(person="A_n") == [] and found(person="% Lee") == []
        assert found(org="100%") == ["a"] and found(person="Bob_Ray") == ["b"] and found(person="Lee") == ["a"]

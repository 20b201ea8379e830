import json
from pathlib import Path

import pytest

from pipeline.checkpoint import Checkpoint, CheckpointFiles, checkpoint_key
from pipeline.plugin import ConnectorContext, read_all
from pipeline.plugin.registry import build_connector
from pipeline.article import Article
from pipeline.deadletter import DeadLetter
from pipeline.errors import ConfigError
from pipeline.settings import LimitSettings
from tests.conftest import SEEDS

HTML = """<html><head><title>Harbour reopens</title>
<meta name="author" content="Ines Moreau"><meta property="article:published_time" content="2024-03-05">
</head><body><nav>Home | World | Sport</nav><article><h1>Harbour reopens after storm</h1>
<p>The harbour of Valletta reopened on Tuesday after three days of closure, port officials said.</p>
<p>"We worked through the night to clear the debris from the main channel," said harbour master Joseph Borg.</p>
<p>Ferries to Gozo resumed their normal schedule in the afternoon, and cargo ships queued outside the breakwater.</p>
</article><script>var tracking = "do not index me";</script><footer>Copyright</footer></body></html>"""


def make(path: Path, name: str = "news", data_dir: Path | None = None, **limits):
    context = ConnectorContext(
        data_dir=data_dir or path.parent,
        limits=LimitSettings(**limits),
        checkpoint=Checkpoint(CheckpointFiles(data_dir or path.parent / "state"), checkpoint_key("files", name)),
    )
    return build_connector("files", name, {"path": str(path)}, context)


def split(records):
    articles = [r for r in records if isinstance(r, Article)]
    dead = [r for r in records if isinstance(r, DeadLetter)]
    return articles, dead


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "news"
    (root / "world").mkdir(parents=True)
    (root / "a.txt").write_text("\n\nFirst title\n\nFirst body line.\nSecond line.\n", encoding="utf-8")
    (root / "world" / "b.md").write_text("# Markdown title\n\nSome *markdown* body.\n", encoding="utf-8")
    (root / "c.jsonl").write_text(
        json.dumps({"id": "feed-1", "title": "J1", "body": "json body one"}) + "\n\n"
        + json.dumps({"title": "J2", "body": "no id here", "url": "https://example.org/j2"}) + "\n"
        + "{broken json\n"
        + json.dumps({"id": "x", "title": "missing body"}) + "\n",
        encoding="utf-8",
    )
    (root / "d.json").write_text(json.dumps([{"id": "d1", "title": "D", "body": "dee"}]), encoding="utf-8")
    (root / "page.html").write_text(HTML, encoding="utf-8")
    (root / ".hidden.txt").write_text("hidden\nnot read", encoding="utf-8")
    return root


def test_reads_every_supported_kind_with_stable_ids(folder):
    articles, dead = split(read_all(make(folder), commit=False))
    by_id = {a.id: a for a in articles}
    assert set(by_id) == {"news/a.txt", "news/world/b.md", "feed-1", "https://example.org/j2", "d1", "news/page.html"}
    assert by_id["news/a.txt"].title == "First title"
    assert by_id["news/a.txt"].body == "First body line.\nSecond line."
    assert by_id["news/world/b.md"].title == "Markdown title"
    assert by_id["news/a.txt"].source.connector == "files" and by_id["news/a.txt"].source.feed == "a.txt"
    mtime = (folder / "a.txt").stat().st_mtime
    assert by_id["news/a.txt"].published_at.timestamp() == pytest.approx(mtime), "no date line: the file's time"
    page = by_id["news/page.html"]
    assert "Joseph Borg" in page.body and "tracking" not in page.body and "Home | World" not in page.body
    assert page.authors == ["Ines Moreau"] and page.published_at.year == 2024
    reasons = sorted(d.reason for d in dead)
    assert any("line 4: not valid JSON" in r or "not valid JSON" in r for r in reasons)
    assert any("field 'body': Field required" in r for r in reasons)
    assert all(d.stage == "connector" and d.source["name"] == "news" for d in dead)


def test_unchanged_files_are_skipped_and_changed_ones_reread_under_the_same_id(folder, tmp_path):
    state = tmp_path / "state"
    first = make(folder, data_dir=state)
    assert len(split(read_all(first))[0]) == 6  # read, then committed as the runtime does once delivered
    again = make(folder, data_dir=state)
    assert read_all(again) == []
    (folder / "a.txt").write_text("First title\nA corrected body.", encoding="utf-8")
    articles, _ = split(read_all(make(folder, data_dir=state), commit=False))
    assert [a.id for a in articles] == ["news/a.txt"] and articles[0].body == "A corrected body."


def test_without_commit_a_restart_reads_everything_again(folder, tmp_path):
    state = tmp_path / "state"
    assert len(split(read_all(make(folder, data_dir=state), commit=False))[0]) == 6
    assert len(split(read_all(make(folder, data_dir=state), commit=False))[0]) == 6


def test_bad_files_become_dead_letters_with_one_line_reasons(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.md").write_text("   \n\n  ", encoding="utf-8")
    (root / "latin1.txt").write_bytes("Caf\xe9 title\nbody".encode("latin-1"))
    (root / "huge.txt").write_text("Title\n" + "word " * 5000, encoding="utf-8")
    (root / "photo.png").write_bytes(b"\x89PNG")
    (root / "titleonly.txt").write_text("Just a title\n", encoding="utf-8")
    (root / "nothing.html").write_text("<html><body><script>x()</script></body></html>", encoding="utf-8")
    connector = make(root, max_file_bytes=10_000)
    articles, dead = split(read_all(connector))
    assert articles == []
    reasons = {d.source["path"]: d.reason for d in dead}
    assert reasons == {
        "binary.txt": "binary file (NUL bytes)",
        "empty.txt": "empty file",
        "blank.md": "empty file",
        "latin1.txt": "not UTF-8 text (bad byte at offset 3)",
        "huge.txt": "file is 25006 bytes, over the limit of 10000",
        "photo.png": "unsupported file type '.png'",
        "titleonly.txt": "no body after the title line",
        "nothing.html": "no article text found in the HTML",
    }
    assert all("\n" not in reason for reason in reasons.values())
    binary = next(d for d in dead if d.source["path"] == "binary.txt")
    assert binary.payload_encoding == "base64" and binary.payload_bytes().startswith(b"\x89PNG")
    assert read_all(make(root, max_file_bytes=10_000)) == [], "a reported bad file is not reported again"


def test_body_over_the_limit_is_dead_lettered(tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    (root / "long.txt").write_text("Title\n" + "x" * 3000, encoding="utf-8")
    articles, dead = split(read_all(make(root, max_body_bytes=1000), commit=False))
    assert not articles and "over the limit of 1000 bytes" in dead[0].reason


def test_single_file_and_missing_path(tmp_path):
    seed = next(SEEDS.glob("*.txt"))
    articles, dead = split(read_all(make(seed, name="seeds", data_dir=tmp_path), commit=False))
    assert [a.id for a in articles] == [f"seeds/{seed.name}"] and not dead
    assert articles[0].title.startswith("Blinken says gap remains")
    assert articles[0].published_at.isoformat() == "2023-12-07T00:00:00+00:00", "the date line under the title"
    with pytest.raises(ConfigError, match="does not exist"):
        make(tmp_path / "missing", data_dir=tmp_path).setup()


def test_unknown_options_are_config_errors(tmp_path):
    context = ConnectorContext(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="connector 'x' \\(files\\): key 'pth': unknown key"):
        build_connector("files", "x", {"pth": "seeds"}, context)
    with pytest.raises(ConfigError, match="unknown connector type 'ftp'"):
        build_connector("ftp", "x", {}, context)

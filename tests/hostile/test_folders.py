"""Class 2: a watched folder leaks nothing that is outside it and nothing special hangs or floods the run.

Links are never followed (a file, a folder, /proc/self/environ, /dev/zero, a loop, a dangling
one, one swapped in while the walk runs); FIFOs, sockets and devices are not opened for reading;
a folder that cannot be read, or is nested absurdly deep, is reported; each problem once.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from pipeline.errors import ConfigError, SourceRejected
from pipeline.plugin import walk_folder
from tests.hostile.harness import NOBODY, SECRET, Embedded, check_contained

GOOD = ["news/good1.txt", "news/sub/good2.md"]


@pytest.fixture
def home():
    """A temporary home any user can reach (a child may drop root to meet a permission error for real)."""
    path = Path(tempfile.mkdtemp(prefix="newswire-hostile-", dir="/tmp"))
    path.chmod(0o777)
    yield path
    for folder, subfolders, _ in os.walk(path):
        for name in subfolders:
            if not os.path.islink(os.path.join(folder, name)):
                os.chmod(os.path.join(folder, name), 0o755)
    shutil.rmtree(path)


def _good(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "good1.txt").write_text("Good one\nMaria Lopez spoke in Lisbon.", encoding="utf-8")
    (root / "sub" / "good2.md").write_text("# Good two\nJoao Silva answered.", encoding="utf-8")


def test_links_and_special_files_are_reported_once_and_never_read(home):
    outside = home / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"Secret\nThe password is {SECRET}.", encoding="utf-8")
    root = home / "news"
    _good(root)
    links = {
        "passwd.txt": outside / "secret.txt",
        "environ.txt": "/proc/self/environ",
        "zero.txt": "/dev/zero",
        "random.txt": "/dev/urandom",
        "dangling.txt": home / "nowhere.txt",
        "loop.txt": root / "loop.txt",
        "inside.txt": root / "good1.txt",
        "elsewhere": outside,
    }
    for name, target in links.items():
        (root / name).symlink_to(target)
    os.mkfifo(root / "fifo.txt")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "socket.txt"))
    embedded = Embedded(home, [{"type": "files", "name": "news", "path": str(root)}])
    try:
        outcome = embedded.run()
    finally:
        server.close()
    expected = {f"news/{name}": "symlink, not followed" for name in links}
    expected |= {"news/fifo.txt": "not a regular file (a FIFO)", "news/socket.txt": "not a regular file (a socket)"}
    check_contained(outcome, letters=embedded.letters(), dead=expected, index=embedded.indexed(), indexed=GOOD)
    assert set(embedded.indexed()) == set(GOOD), "nothing beyond the two real files"
    again = embedded.run()
    check_contained(again)
    assert again.value == {"read": 0, "indexed": 0, "dead": 0} and again.lines == [], "each problem is reported once"


def test_a_file_swapped_for_a_link_after_the_listing_is_not_followed(tmp_path):
    root = tmp_path / "news"
    root.mkdir()
    (root / "a.txt").write_text("Title\nBody.", encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    for entry in walk_folder(root):
        (root / "a.txt").unlink()
        (root / "a.txt").symlink_to(tmp_path / "secret.txt")  # the race: listed as a file, a link when opened
        with pytest.raises(SourceRejected, match="symlink, not followed"):
            entry.read(1000)


def test_a_folder_swapped_for_a_link_during_the_walk_is_not_entered(tmp_path):
    root = tmp_path / "news"
    (root / "b").mkdir(parents=True)
    (root / "c.txt").write_text("Title\nBody.", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET, encoding="utf-8")
    seen = []
    for entry in walk_folder(root):
        seen.append((entry.relative, entry.problem))
        if entry.relative == "c.txt":  # `b` was listed as a folder; it becomes a link before it is entered
            (root / "b").rmdir()
            (root / "b").symlink_to(tmp_path / "outside")
    assert seen == [("c.txt", None), ("b/", "symlink, not followed")]


def test_a_device_given_as_the_path_is_not_read(tmp_path):
    problems = []
    for entry in walk_folder(Path("/dev/null")):
        problems.append(entry.problem)
        with pytest.raises(SourceRejected, match="character device"):
            entry.read(10)
    assert problems == ["not a regular file (a character device)"]


@pytest.mark.parametrize("path", ["/proc/self", "/sys/kernel", "/dev"])
def test_a_pseudo_filesystem_is_not_a_folder_of_articles(tmp_path, path):
    embedded = Embedded(tmp_path, [{"type": "files", "name": "x", "path": path}])
    from pipeline.runtime.sources import open_configured

    with pytest.raises(ConfigError, match=f"is on /{path.split('/')[1]}"):
        open_configured(embedded.settings())


def test_a_folder_nested_deeper_than_the_bound_is_reported(home):
    root = home / "news"
    _good(root)
    deep = root
    for level in range(80):
        deep = deep / f"d{level}"
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("Bottom\nToo deep.", encoding="utf-8")
    embedded = Embedded(home, [{"type": "files", "name": "news", "path": str(root)}])
    outcome = embedded.run()
    letters = embedded.letters()
    check_contained(outcome, letters=letters, index=embedded.indexed(), indexed=GOOD)
    [letter] = letters
    assert letter.reason == "folder nested deeper than 64 levels, not read"


def test_an_unreadable_subfolder_and_file_are_reported_once_and_the_rest_read(home):
    root = home / "news"
    _good(root)
    (root / "locked").mkdir()
    (root / "locked" / "hidden.txt").write_text("Hidden\nNot readable.", encoding="utf-8")
    (root / "locked").chmod(0)
    (root / "private.txt").write_text("Private\nNot readable.", encoding="utf-8")
    (root / "private.txt").chmod(0)
    for path in (home, root, root / "sub"):
        path.chmod(0o777)
    embedded = Embedded(home, [{"type": "files", "name": "news", "path": str(root)}])
    outcome = embedded.run(user=NOBODY)
    check_contained(outcome, letters=embedded.letters(), index=embedded.indexed(), indexed=GOOD, dead={
        "news/locked/": "cannot read folder: Permission denied",
        "news/private.txt": "cannot read file: Permission denied",
    })
    again = embedded.run(user=NOBODY)
    check_contained(again)
    assert again.value["dead"] == 0 and again.lines == [], "an unreadable file or folder is not reported at every poll"
    (root / "private.txt").chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    fixed = embedded.run(user=NOBODY)
    check_contained(fixed, index=embedded.indexed(), indexed=[*GOOD, "news/private.txt"])
    assert [l.article_id for l in embedded.letters()] == ["news/locked/"], "the fixed file's letter is resolved"

"""The one property every hostile case is held to, and the means to check it.

    any input ends in bounded time and memory, with one clear line per problem, a dead-letter
    record with the reason (never a copy of a secret), and everything else still processed.

`contained(work)` runs `work` in a forked child with its address space capped at what it had
plus `MEMORY_HEADROOM` (an unbounded read or parse dies there instead of eating the machine)
and a deadline (`DEADLINE`, a hang detector, not a speed test: no case comes near it); stderr
is captured through the CLI's own logging set-up. `Embedded` runs the real embedded runtime
(files connector and any other, the SQLite index, the dead-letter store) with the fake
enricher, and `check_contained` asserts the property on what it left behind.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import resource
import sys
import traceback
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEADLINE = 120.0
MEMORY_HEADROOM = 1024 * 1024 * 1024
NOBODY = 65534
SECRET = "hostile-secret-9f2c41"  # set in the environment of every contained child; must never be stored or shown


@dataclass
class Contained:
    """What a contained child returned, and every line it wrote to stderr."""

    value: Any = None
    error: str | None = None
    lines: list[str] = field(default_factory=list)


def _virtual_size() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


def contained(work: Callable[[], Any], *, user: int | None = None, file_size: int | None = None,
              deadline: float = DEADLINE) -> Contained:
    """Run `work()` in a forked child, bounded (see the module docstring); `user` drops root first.

    `file_size` sets RLIMIT_FSIZE: a write past it fails with EFBIG, as on a full disk.
    """
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)

    def child() -> None:
        os.environ["HOSTILE_SECRET"] = SECRET
        if user is not None and os.getuid() == 0:
            _warm_up()
        stderr = io.StringIO()
        sys.stderr = stderr
        try:
            limit = _virtual_size() + MEMORY_HEADROOM
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            if file_size is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
            if user is not None and os.getuid() == 0:
                os.setgid(user)
                os.setuid(user)
            from pipeline.commands.console import configure_logging

            configure_logging("WARNING")
            outcome = Contained(value=work())
        except BaseException as e:  # reported to the parent as data
            outcome = Contained(error=f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        outcome.lines = stderr.getvalue().splitlines()
        writer.send(outcome)
        writer.close()
        os._exit(0)

    process = context.Process(target=child, daemon=True)
    process.start()
    writer.close()
    if not reader.poll(deadline):
        process.kill()
        process.join()
        raise AssertionError(f"did not end within {deadline:.0f}s: a hang (or an unbounded wait)")
    outcome = reader.recv()
    process.join(10)
    return outcome


def world_readable(path: Path) -> Path:
    """Open `path` and its parents for traversal, so a child that dropped root can reach it."""
    for folder in [path, *path.parents]:
        if str(folder) in ("/", "/tmp"):
            break
        folder.chmod(folder.stat().st_mode | 0o755)
    return path


def _warm_up() -> None:
    """One small run as root first, so that what a run loads lazily (modules, codecs, the language model) is
    loaded while the interpreter's own files (under /root with pyenv) are readable; the unprivileged
    user then only has to reach the test's files."""
    import tempfile

    from pipeline.runtime.embedded import EmbeddedRuntime
    from tests.conftest import FakeEnricher

    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "news"
        folder.mkdir()
        (folder / "warm.txt").write_text("Harbour council\nThe council met on Tuesday, the mayor said.", encoding="utf-8")
        embedded = Embedded(Path(home), [{"type": "files", "name": "warm", "path": str(folder)}])
        EmbeddedRuntime(embedded.settings(), enricher=FakeEnricher()).run(once=True)


@contextmanager
def stop_after_rounds(stop, reads: int):
    """Set `stop` once the fleet has finished `reads` connector reads (a continuous run, ended by count)."""
    from pipeline.runtime.fleet import Fleet

    original = Fleet._finished
    done: list[str] = []

    def counting(fleet, delivery, retry=False):
        original(fleet, delivery, retry)
        done.append(delivery.source.connector.name)
        if len(done) >= reads:
            stop.set()

    Fleet._finished = counting
    try:
        yield done
    finally:
        Fleet._finished = original


class Embedded:
    """The embedded runtime over connectors, on its own data_dir, with the fake enricher."""

    def __init__(self, home: Path, connectors: list[dict], **settings: Any) -> None:
        self.home = home
        self.data_dir = home / "data"
        self.config = home / "newswire.yaml"
        settings = {"data_dir": str(self.data_dir), "connectors": connectors, **settings}
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")

    def settings(self):
        from pipeline.settings import load_settings

        return load_settings(self.config)

    def run(self, *, once: bool = True, rounds: int = 1, **limits: Any) -> Contained:
        """`run --once` (or a continuous run stopped after `rounds` reads) in a contained child."""
        config = self.config

        def work():
            import threading

            from pipeline.runtime.embedded import EmbeddedRuntime
            from pipeline.settings import load_settings
            from tests.conftest import FakeEnricher

            stop = threading.Event()
            runtime = EmbeddedRuntime(load_settings(config), enricher=FakeEnricher())
            if once:
                report = runtime.run(once=True)
            else:
                with stop_after_rounds(stop, rounds * len(runtime.settings.connectors)):
                    report = runtime.run(once=False, stop=stop)
            return {"read": report.read, "indexed": report.indexed, "dead": report.dead}

        return contained(work, **limits)

    def indexed(self) -> dict[str, Any]:
        """Every indexed article by id."""
        from pipeline.index.embedded import EmbeddedIndex
        from pipeline.runtime.indexes import index_path
        from pipeline.search import SearchQuery

        path = index_path(self.settings())
        if not path.exists():
            return {}
        with EmbeddedIndex(path) as index:
            return {hit.article.id: hit.article for hit in index.search(SearchQuery(limit=10_000, copies=True))}

    def letters(self) -> list:
        from pipeline.runtime.deadletters import DeadLetterFile, deadletter_path

        return DeadLetterFile(deadletter_path(self.settings())).read()


def check_contained(outcome: Contained, *, letters: Iterable = (), dead: dict[str, str] | None = None,
                    indexed: Iterable[str] = (), index: dict | None = None) -> None:
    """The property: ended without an error; every stderr line one clean line; each problem one dead letter
    whose reason says it; no secret anywhere; the good articles indexed."""
    assert outcome.error is None, outcome.error
    letters = list(letters)
    for line in outcome.lines:
        assert line.startswith("newswire: "), f"not one clear line: {line!r}"
        assert "Traceback" not in line and "\x1b" not in line and "\x07" not in line and "\r" not in line, line
        assert SECRET not in line, "a secret reached the terminal"
    for letter in letters:
        shown = f"{letter.reason} {letter.source} {letter.article_id} {letter.payload_bytes()!r}"
        assert SECRET not in shown and SECRET not in letter.payload_bytes().decode("utf-8", "replace"), "a secret was dead-lettered"
    for where, reason in (dead or {}).items():
        found = [l for l in letters if where in (l.article_id, l.source.get("path"), l.source.get("name"))]
        assert len(found) == 1, f"{where}: expected one dead letter, got {[l.reason for l in found]}"
        assert reason in found[0].reason, f"{where}: {found[0].reason!r} does not say {reason!r}"
        assert any(where in line and reason in line for line in outcome.lines) or any(
            reason in line for line in outcome.lines), f"{where}: no line on stderr says {reason!r}"
    if index is not None:
        for article_id in indexed:
            assert article_id in index, f"{article_id} was not processed: {sorted(index)}"
        for article in index.values():
            assert SECRET not in article.body and SECRET not in article.title, "a secret was indexed"

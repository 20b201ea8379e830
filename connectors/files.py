"""The files connector: a file or a folder (recursively) of .txt, .md, .json, .jsonl and .html articles.

Ids are `<name>/<path under the root>` (a JSON article keeps its own `id`). A text
file's `published_at` is a date line near its top, else the file's modification time
(an HTML file's comes from its metadata, with the same fallback). The
checkpoint maps each path to its content hash (carried by the file's last record, so a
file counts as read only once all of it was delivered): an unchanged file is not read
again, a changed one is re-read under the same id. Binary, empty, undecodable or oversized
files become a dead letter with a one-line reason; nothing here raises for bad input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from dateutil import parser as date_parser
from pydantic import ValidationError

from pipeline.plugin import (
    Article, ConfigError, Connector, ConnectorOptions, DeadLetter, Record, Source, SourceRejected,
    Yielded, describe_validation_error, extract_page, fit_id,
)

__all__ = ["FilesConnector", "FilesOptions", "TEXT_SUFFIXES", "JSON_SUFFIXES", "HTML_SUFFIXES"]

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUFFIXES = TEXT_SUFFIXES | JSON_SUFFIXES | HTML_SUFFIXES


class FilesOptions(ConnectorOptions):
    path: Path
    interval: float = 30.0


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise SourceRejected("binary file (NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SourceRejected(f"not UTF-8 text (bad byte at offset {e.start})") from None


_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _date_line(body: str) -> datetime | None:
    """A line near the top that is only a date ("07 December, 2023"), as news pages saved to text often have."""
    for line in [line.strip() for line in body.splitlines() if line.strip()][:6]:
        if len(line) > 40 or not _YEAR.search(line):
            continue
        try:
            moment = date_parser.parse(line, fuzzy=False)
        except (ValueError, OverflowError):
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def _split_title(text: str, markdown: bool) -> tuple[str, str]:
    """First non-empty line is the title, the rest the body."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.strip():
            title = line.strip()
            if markdown:
                title = title.lstrip("#").strip()
            return title, "\n".join(lines[number + 1 :]).strip()
    return "", ""


class FilesConnector(Connector):
    """Reads articles from files under `path`."""

    type = "files"
    Options = FilesOptions
    options: FilesOptions

    @classmethod
    def options_for_source(cls, source: str) -> dict | None:
        return {"path": source} if os.path.exists(source) else None

    @property
    def root(self) -> Path:
        path = self.options.path
        return path if path.is_dir() else path.parent

    def setup(self) -> None:
        if not self.options.path.exists():
            raise ConfigError(f"connector '{self.name}' (files): path {self.options.path} does not exist")

    def _paths(self) -> Iterator[Path]:
        path = self.options.path
        if path.is_file():
            yield path
            return
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(names):
                if not name.startswith("."):
                    yield Path(folder) / name

    def read(self) -> Iterator[Yielded]:
        for path in self._paths():
            relative = path.relative_to(self.root).as_posix()
            yield from self._read_file(path, relative)

    def _dead(self, relative: str, reason: str, payload: bytes | None = None) -> DeadLetter:
        logger.warning("skipped file connector=%s path=%s reason=%s", self.name, relative, reason)
        return DeadLetter.of(
            "connector", reason, payload, article_id=f"{self.name}/{relative}",
            connector=self.type, name=self.name, path=relative,
        )

    def _read_file(self, path: Path, relative: str) -> Iterator[Yielded]:
        limits = self.context.limits
        try:
            stat = path.stat()
            size = stat.st_size
            if path.suffix.lower() not in SUFFIXES:
                raise SourceRejected(f"unsupported file type '{path.suffix or path.name}'")
            if size > limits.max_file_bytes:
                raise SourceRejected(f"file is {size} bytes, over the limit of {limits.max_file_bytes}")
            raw = path.read_bytes()
        except SourceRejected as e:
            marker = f"rejected:{stat.st_size}:{stat.st_mtime_ns}"
            if self.checkpoint.get(relative) != marker:
                yield Record(self._dead(relative, str(e)), {relative: marker})
            return
        except OSError as e:
            yield self._dead(relative, f"cannot read file: {e.strerror or e}")
            return
        digest = hashlib.sha256(raw).hexdigest()
        if self.checkpoint.get(relative) == digest:
            return
        try:
            text = _decode(raw)
            if not text.strip():
                raise SourceRejected("empty file")
            records = list(self._articles(path, relative, text))
        except SourceRejected as e:
            records = [self._dead(relative, str(e), raw if len(raw) <= limits.max_body_bytes else None)]
        yield from records[:-1]
        yield Record(records[-1] if records else None, {relative: digest})

    def _article(self, relative: str, **fields) -> Article | DeadLetter:
        body = fields.get("body", "")
        limit = self.context.limits.max_body_bytes
        if len(body.encode("utf-8", "surrogatepass")) > limit:
            return self._dead(relative, f"body is over the limit of {limit} bytes")
        fields.setdefault("id", fit_id(f"{self.name}/{relative}"))
        fields.setdefault("fetched_at", datetime.now(timezone.utc))
        fields.setdefault("source", Source(connector=self.type, name=self.name, feed=relative))
        return Article(**fields)

    def _articles(self, path: Path, relative: str, text: str) -> Iterator[Article | DeadLetter]:
        suffix = path.suffix.lower()
        if suffix in TEXT_SUFFIXES:
            title, body = _split_title(text, markdown=suffix != ".txt")
            if not body:
                raise SourceRejected("no body after the title line")
            published = _date_line(body) or _modified(path)
            yield self._article(relative, title=title, body=body, published_at=published)
        elif suffix in HTML_SUFFIXES:
            page = extract_page(text)
            if page is None:
                raise SourceRejected("no article text found in the HTML")
            yield self._article(
                relative, title=page.title, body=page.text, url=page.url, published_at=page.published_at or _modified(path),
                authors=page.authors, language=page.language, categories=page.categories,
            )
        elif suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise SourceRejected(f"not valid JSON: {e.msg} at line {e.lineno}") from None
            objects = data if isinstance(data, list) else [data]
            for number, obj in enumerate(objects, start=1):
                yield self._from_json(relative, obj, json.dumps(obj, ensure_ascii=False), f"#{number}")
        else:
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    yield self._dead(f"{relative}#{number}", f"line {number}: not valid JSON: {e.msg}", line)
                    continue
                yield self._from_json(relative, obj, line, f"#{number}")

    def _from_json(self, relative: str, obj: object, raw: str, where: str) -> Article | DeadLetter:
        if not isinstance(obj, dict):
            return self._dead(relative + where, f"expected a JSON object, got {type(obj).__name__}", raw)
        fields = dict(obj)
        fields.setdefault("id", fit_id(fields.get("url") or f"{self.name}/{relative}{where}"))
        # The source is this folder whatever the file says: ownership of an id in the index rests on it.
        fields["source"] = {"connector": self.type, "name": self.name, "feed": relative}
        try:
            article = Article.model_validate(fields)
        except ValidationError as e:
            return self._dead(relative + where, describe_validation_error(e), raw)
        limit = self.context.limits.max_body_bytes
        if len(article.body.encode("utf-8", "surrogatepass")) > limit:
            return self._dead(relative + where, f"body is over the limit of {limit} bytes")
        if article.fetched_at is None:
            article.fetched_at = datetime.now(timezone.utc)
        return article

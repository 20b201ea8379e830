"""The files connector: a file or a folder (recursively) of .txt, .md, .json, .jsonl and .html articles.

Ids are `<name>/<path under the root>` (a JSON article keeps its own `id`, see below). A text
file's `published_at` is a date line near its top, else the file's modification time
(an HTML file's comes from its metadata, with the same fallback). The
checkpoint maps each path to its content hash (carried by the file's last record, so a
file counts as read only once all of it was delivered): an unchanged file is not read
again, a changed one is re-read under the same id. Binary, empty, undecodable or oversized
files become a dead letter with a one-line reason; nothing here raises for bad input.

The folder is read through `walk_folder` (pipeline.plugin.folder): no symlink is followed
(one inside the root only repeats a file that is read under its own path anyway; one pointing
out of it could expose /etc or /proc), FIFOs, sockets and devices are not opened for reading,
and every read is bounded by `limits.max_file_bytes`. Whatever is skipped, refused or
unreadable is reported once (the checkpoint keeps a marker of its size and time) and again only
when it changes. A file whose content this code did not foresee fails alone: one dead letter,
and the files beside it are still read. Text files may be UTF-8 or carry a UTF-16/32 byte
order mark.

A JSON article may claim an `id`: it is kept (a re-imported export keeps its identity), but
nothing else the file says about where it came from is: `source` is always this connector
and this file, and `fetched_at` is when it was read. Whether that claimed id may replace an
article another source delivered is the index's ownership rule, not the file's say.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dateutil import parser as date_parser
from pydantic import Field, ValidationError

from pipeline.plugin import (
    MAX_INTERVAL, Article, ConfigError, Connector, ConnectorOptions, DeadLetter, FolderEntry, Record, Source,
    SourceRejected, Yielded, describe_validation_error, extract_page, fit_id, load_json, special_filesystem, walk_folder,
)

__all__ = ["FilesConnector", "FilesOptions", "TEXT_SUFFIXES", "JSON_SUFFIXES", "HTML_SUFFIXES"]

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUFFIXES = TEXT_SUFFIXES | JSON_SUFFIXES | HTML_SUFFIXES
# Byte order marks, longest first (a UTF-32 LE mark starts with the UTF-16 LE one).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


class FilesOptions(ConnectorOptions):
    path: Path
    interval: float = Field(default=30.0, gt=0, le=MAX_INTERVAL, allow_inf_nan=False)


def _decode(raw: bytes) -> str:
    """UTF-8 text, or UTF-16/32 with a byte order mark; SourceRejected for anything binary."""
    for bom, codec, label in BOMS:
        if raw.startswith(bom):
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError as e:
                raise SourceRejected(f"not {label} text (bad bytes at offset {e.start})") from None
            if "\x00" in text:
                raise SourceRejected("binary file (NUL characters)")
            return text
    if b"\x00" in raw[:8192]:
        raise SourceRejected("binary file (NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SourceRejected(f"not UTF-8 text (bad byte at offset {e.start})") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


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


def _modified(entry: FolderEntry) -> datetime:
    mtime = entry.stat.st_mtime if entry.stat is not None else 0.0
    return datetime.fromtimestamp(mtime, tz=timezone.utc)


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

    def setup(self) -> None:
        path = self.options.path
        if not path.exists():
            raise ConfigError(f"connector '{self.name}' (files): path {path} does not exist")
        special = special_filesystem(path)
        if special:
            raise ConfigError(f"connector '{self.name}' (files): path {path} is on {special}, not a folder of articles")

    def read(self) -> Iterator[Yielded]:
        for entry in walk_folder(self.options.path):
            try:
                yield from self._read_entry(entry)
            except Exception as e:  # an input nobody foresaw: this file is reported, the ones beside it are read
                reason = f"could not be read: {type(e).__name__}: {_one_line(e)}"
                logger.debug("file failed connector=%s path=%s", self.name, entry.relative, exc_info=True)
                yield Record(self._dead(entry.relative, reason), {entry.relative: f"failed:{entry.marker()}"})

    def _dead(self, relative: str, reason: str, payload: bytes | str | None = None, article_id: str | None = None) -> DeadLetter:
        logger.warning("skipped file connector=%s path=%s reason=%s", self.name, relative, reason)
        return DeadLetter.of(
            "connector", reason, payload, article_id=article_id or fit_id(f"{self.name}/{relative}"),
            connector=self.type, name=self.name, path=relative,
        )

    def _once(self, entry: FolderEntry, kind: str, reason: str) -> Iterator[Record]:
        """A dead letter for what cannot be read, unless the same entry, unchanged, was reported already."""
        marker = f"{kind}:{entry.marker()}"
        if self.checkpoint.get(entry.relative) != marker:
            yield Record(self._dead(entry.relative, reason), {entry.relative: marker})

    def _read_entry(self, entry: FolderEntry) -> Iterator[Yielded]:
        limits = self.context.limits
        relative = entry.relative
        if entry.problem:
            yield from self._once(entry, "skipped", entry.problem)
            return
        if entry.suffix not in SUFFIXES:
            shown = os.path.splitext(relative)[1] or relative.rsplit("/", 1)[-1]
            yield from self._once(entry, "rejected", f"unsupported file type '{shown}'")
            return
        try:
            raw = entry.read(limits.max_file_bytes)  # the size is checked before a byte is read
        except SourceRejected as e:
            yield from self._once(entry, "rejected", str(e))
            return
        except OSError as e:
            yield from self._once(entry, "unreadable", f"cannot read file: {e.strerror or e}")
            return
        digest = hashlib.sha256(raw).hexdigest()
        if self.checkpoint.get(relative) == digest:
            return
        try:
            text = _decode(raw)
            if not text.strip():
                raise SourceRejected("empty file")
            records = list(self._articles(entry, text))
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

    def _articles(self, entry: FolderEntry, text: str) -> Iterator[Article | DeadLetter]:
        suffix, relative = entry.suffix, entry.relative
        if suffix in TEXT_SUFFIXES:
            title, body = _split_title(text, markdown=suffix != ".txt")
            if not body:
                raise SourceRejected("no body after the title line")
            published = _date_line(body) or _modified(entry)
            yield self._article(relative, title=title, body=body, published_at=published)
        elif suffix in HTML_SUFFIXES:
            page = extract_page(text)  # bounded: a page too complex to extract is a SourceRejected
            if page is None:
                raise SourceRejected("no article text found in the HTML")
            yield self._article(
                relative, title=page.title, body=page.text, url=page.url, published_at=page.published_at or _modified(entry),
                authors=page.authors, language=page.language, categories=page.categories,
            )
        elif suffix == ".json":
            data = load_json(text, SourceRejected)
            objects = data if isinstance(data, list) else [data]
            for number, obj in enumerate(objects, start=1):
                yield self._from_json(relative, obj, None, f"#{number}")
        else:
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    obj = load_json(line, SourceRejected)
                except SourceRejected as e:
                    yield self._dead(f"{relative}#{number}", f"line {number}: {e}", line)
                    continue
                yield self._from_json(relative, obj, line, f"#{number}")

    def _from_json(self, relative: str, obj: object, raw: str | None, where: str) -> Article | DeadLetter:
        """One JSON article: its claimed `id` kept, `source` and `fetched_at` this connector's (see the module docstring)."""
        try:
            payload = raw if raw is not None else json.dumps(obj, ensure_ascii=False)
        except (RecursionError, ValueError):
            return self._dead(relative + where, "not valid JSON: nested too deeply")
        if not isinstance(obj, dict):
            return self._dead(relative + where, f"expected a JSON object, got {type(obj).__name__}", payload)
        fields = dict(obj)
        claimed = fields.get("id") if isinstance(fields.get("id"), str) and fields["id"].strip() else None
        url = fields.get("url") if isinstance(fields.get("url"), str) else None
        article_id = claimed or fit_id(url or f"{self.name}/{relative}{where}")
        fields["id"] = fields.get("id", article_id)
        fields["source"] = {"connector": self.type, "name": self.name, "feed": relative}
        fields["fetched_at"] = datetime.now(timezone.utc)
        try:
            article = Article.model_validate(fields)
        except ValidationError as e:
            return self._dead(relative + where, describe_validation_error(e), payload, article_id=fit_id(article_id))
        except RecursionError:
            return self._dead(relative + where, "not valid JSON: nested too deeply", payload, article_id=fit_id(article_id))
        limit = self.context.limits.max_body_bytes
        if len(article.body.encode("utf-8", "surrogatepass")) > limit:
            return self._dead(relative + where, f"body is over the limit of {limit} bytes", article_id=article.id)
        return article

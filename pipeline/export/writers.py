"""Export writers: JSON lines, CSV and Parquet, each writing rows as articles arrive.

CSV is meant for spreadsheets, which run a cell that starts with `=`, `+`, `-` or `@` (or a
tab or carriage return) as a formula: such a cell gets a leading apostrophe
(`neutralise_formula`), the OWASP advice, which spreadsheets show as text. Apostrophes
already in front of such a start get one more, so `restore_formula` gives the text back
exactly. Lists of names are joined with "; ". Parquet goes through pyarrow in row groups of
`ROW_GROUP` rows, the only rows an export holds at once.
"""

from __future__ import annotations

import csv
import io
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, BinaryIO

from pipeline.article import EnrichedArticle
from pipeline.export.tables import Column, Row, Table

__all__ = [
    "FORMATS", "LIST_SEPARATOR", "ROW_GROUP", "ExportWriter", "open_writer", "write_all", "neutralise_formula", "restore_formula",
]

FORMATS = ("jsonl", "csv", "parquet")
LIST_SEPARATOR = "; "
ROW_GROUP = 1000

_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_NEUTRALISED = re.compile(r"'(?='*[=+\-@\t\r])")


def neutralise_formula(text: str) -> str:
    """`=SUM(A1)` → `'=SUM(A1)`: a cell a spreadsheet would evaluate is shown as text instead."""
    return "'" + text if _FORMULA.match(text) else text


def restore_formula(text: str) -> str:
    """The inverse of `neutralise_formula`, for reading an export back."""
    return text[1:] if _NEUTRALISED.match(text) else text


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(timezone.utc) if moment is not None else None


class ExportWriter(ABC):
    """Writes the rows of one table for each article given; `close()` finishes the file (not the stream)."""

    def __init__(self, table: Table, stream: BinaryIO, speaker: str | None = None) -> None:
        self.table = table
        self.stream = stream
        self.speaker = speaker  # the search's speaker filter: the quotes table keeps that speaker's quotes
        self.rows = 0  # rows written so far

    @abstractmethod
    def write(self, article: EnrichedArticle) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


class _TextWriter(ExportWriter):
    def __init__(self, table: Table, stream: BinaryIO, speaker: str | None = None) -> None:
        super().__init__(table, stream, speaker)
        self.text = io.TextIOWrapper(stream, encoding="utf-8", newline="")

    def close(self) -> None:
        self.text.flush()
        self.text.detach()  # the caller owns the stream (stdout stays open)


class JsonLinesWriter(_TextWriter):
    """One JSON object per line: the article itself for `articles`, else one row per line (ISO dates)."""

    def write(self, article: EnrichedArticle) -> None:
        documents = self.table.documents(article) if self.table.documents else self.table.rows(article, self.speaker)
        for document in documents:
            self.text.write(json.dumps(document, ensure_ascii=False, default=_json_value) + "\n")
            self.rows += 1


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not exportable as JSON: {type(value).__name__}")


class CsvWriter(_TextWriter):
    """A header, then one row per table row; text neutralised against formulas, lists joined with "; "."""

    def __init__(self, table: Table, stream: BinaryIO, speaker: str | None = None) -> None:
        super().__init__(table, stream, speaker)
        self.csv = csv.writer(self.text)
        self.csv.writerow(table.names)

    def write(self, article: EnrichedArticle) -> None:
        for row in self.table.rows(article, self.speaker):
            self.csv.writerow([_csv_cell(column, row[column.name]) for column in self.table.columns])
            self.rows += 1


def _csv_cell(column: Column, value: Any) -> Any:
    if value is None:
        return ""
    if column.kind == "time":
        return value.isoformat()
    if column.kind == "texts":
        return neutralise_formula(LIST_SEPARATOR.join(value))
    if column.kind in ("text", "json"):
        return neutralise_formula(value)
    return value


class ParquetWriter(ExportWriter):
    """Row groups of ROW_GROUP rows through pyarrow; `time` columns as UTC timestamps (microseconds)."""

    def __init__(self, table: Table, stream: BinaryIO, speaker: str | None = None) -> None:
        super().__init__(table, stream, speaker)
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            "text": pa.string(),
            "json": pa.string(),
            "int": pa.int64(),
            "time": pa.timestamp("us", tz="UTC"),
            "texts": pa.list_(pa.string()),
        }
        self._pa = pa
        self.schema = pa.schema([pa.field(column.name, types[column.kind]) for column in table.columns])
        self.parquet = pq.ParquetWriter(stream, self.schema, compression="zstd")
        self.pending: list[Row] = []

    def write(self, article: EnrichedArticle) -> None:
        for row in self.table.rows(article, self.speaker):
            self.pending.append({name: _utc(value) if isinstance(value, datetime) else value for name, value in row.items()})
            if len(self.pending) >= ROW_GROUP:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.parquet.write_batch(self._pa.RecordBatch.from_pylist(self.pending, schema=self.schema))
            self.rows += len(self.pending)
            self.pending = []

    def close(self) -> None:
        self._flush()
        self.parquet.close()


_WRITERS = {"jsonl": JsonLinesWriter, "csv": CsvWriter, "parquet": ParquetWriter}


def open_writer(format_name: str, table: Table, stream: BinaryIO, speaker: str | None = None) -> ExportWriter:
    """A writer of `table` in `format_name` (jsonl, csv, parquet) onto a binary stream."""
    return _WRITERS[format_name](table, stream, speaker)


def write_all(articles: Iterable[EnrichedArticle], writer: ExportWriter, progress: Callable[[], None] | None = None) -> int:
    """Write every article's rows and finish the file; returns how many articles were read.

    The articles are read one at a time and not kept: memory does not grow with their number.
    """
    read = 0
    for article in articles:
        writer.write(article)
        read += 1
        if progress is not None:
            progress()
    writer.close()
    return read

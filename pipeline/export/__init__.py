"""Exports: matching articles, their quotes or their entities as JSON lines, CSV or Parquet, streamed.

    tables.py   what is exported: one table per `--what` (its columns and the rows of one article)
    writers.py  how: JSON lines, CSV (spreadsheet formulas neutralised), Parquet (pyarrow, in row groups)

Rows are produced one article at a time and written as they come, so an export of a million
articles holds one article (and at most one Parquet row group) in memory. `newswire export`
feeds it from `Index.scan`.
"""

from pipeline.export.tables import TABLES, Column, Table
from pipeline.export.writers import (
    FORMATS,
    LIST_SEPARATOR,
    ExportWriter,
    neutralise_formula,
    open_writer,
    restore_formula,
    write_all,
)

__all__ = [
    "TABLES", "Column", "Table", "FORMATS", "LIST_SEPARATOR", "ExportWriter", "open_writer", "write_all",
    "neutralise_formula", "restore_formula",
]

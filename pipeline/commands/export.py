"""`newswire export`: every article matching a search (or its quotes, or its entities) to a file, streamed."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.commands import add_config_option, add_search_options, search_query
from pipeline.commands.console import configure_logging, stderr
from pipeline.errors import NewswireError
from pipeline.export import FORMATS, TABLES, open_writer, write_all
from pipeline.index import Index
from pipeline.runtime.indexes import open_index
from pipeline.search import SearchQuery
from pipeline.settings import load_settings

__all__ = ["add_parser", "export", "Exported"]

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="write every matching article, quote or entity as JSON lines, CSV or Parquet (streamed)"
    )
    add_search_options(parser)
    parser.add_argument("--what", choices=list(TABLES), default="articles", help="one row per article, quote or entity")
    parser.add_argument("--format", choices=FORMATS, default="jsonl")
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="the file to write (default: standard output)")
    add_config_option(parser)
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class Exported:
    articles: int
    rows: int


def export(index: Index, query: SearchQuery, what: str, format_name: str, stream: BinaryIO, *, show_progress: bool = False) -> Exported:
    """Write the `what` rows of every article matching `query` to `stream`; a progress bar on stderr if asked."""
    table = TABLES[what]
    writer = open_writer(format_name, table, stream, speaker=query.speaker)
    with closing(index.scan(query)) as articles:
        if not show_progress:
            read = write_all(articles, writer)
        else:
            total = index.count(query)
            columns = (TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TextColumn("articles"), TimeElapsedColumn())
            with Progress(*columns, console=stderr, transient=True) as progress:
                task = progress.add_task("export", total=total)
                read = write_all(articles, writer, lambda: progress.advance(task))
    return Exported(read, writer.rows)


def _export_to_file(index: Index, query: SearchQuery, args: argparse.Namespace, path: Path) -> Exported:
    """Write beside the target and rename at the end: an export that fails leaves no half file under its name."""
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("wb") as stream:
            done = export(index, query, args.what, args.format, stream, show_progress=stderr.is_terminal)
        os.replace(partial, path)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise NewswireError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return done


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    query = search_query(args)
    if args.output is None and args.format == "parquet" and sys.stdout.isatty():
        print("newswire: Parquet is binary: give -o FILE, or redirect standard output", file=sys.stderr)
        return 2
    with open_index(settings, must_exist=True) as index:
        if args.output is None:
            done = export(index, query, args.what, args.format, sys.stdout.buffer, show_progress=stderr.is_terminal)
            sys.stdout.flush()
            where = "standard output"
        else:
            path = Path(args.output)
            done = _export_to_file(index, query, args, path)
            where = str(path)
    print(f"newswire: exported {done.rows} {args.what} row(s) from {done.articles} article(s) to {where}", file=sys.stderr)
    return 0

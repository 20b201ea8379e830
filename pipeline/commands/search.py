"""`newswire search QUERY`: full text over indexed articles, with entity filters."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from pipeline.commands import add_config_option, add_search_options, search_query
from pipeline.commands.console import configure_logging, render_hits
from pipeline.runtime.indexes import open_index
from pipeline.search import SearchHit, SearchQuery
from pipeline.settings import Settings, load_settings

__all__ = ["add_parser", "search"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search", help="search indexed articles")
    add_search_options(parser)
    parser.add_argument("--limit", type=int, default=10, metavar="K")
    parser.add_argument("--json", action="store_true", help="one EnrichedArticle JSON object per line, with a score")
    add_config_option(parser)
    parser.set_defaults(func=run)


def search(settings: Settings, query: SearchQuery) -> list[SearchHit]:
    """Search the configured index (Elasticsearch when configured, else the embedded one)."""
    with open_index(settings, must_exist=True) as index:
        return index.search(query)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    if args.limit < 1:
        print("newswire: --limit must be at least 1", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    hits = search(settings, search_query(args, limit=args.limit))
    if args.json:
        for hit in hits:
            sys.stdout.write(json.dumps(hit.to_dict(), ensure_ascii=False) + "\n")
    else:
        render_hits(hits, Console(highlight=False))
    return 0

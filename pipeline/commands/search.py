"""`newswire search QUERY`: full text over indexed articles, with filters; one hit per story unless `--copies`."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from pipeline.commands import add_config_option, add_search_options, count, search_query
from pipeline.commands.console import configure_logging, render_hits, safe_json
from pipeline.runtime.indexes import open_index
from pipeline.search import SearchHit, SearchQuery
from pipeline.settings import Settings, load_settings

__all__ = ["add_parser", "search"]

MAX_HITS = 10_000  # Elasticsearch's default result window
MAX_QUERY_CHARS = 2_000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search", help="search indexed articles")
    add_search_options(parser)
    parser.add_argument("--limit", type=count(MAX_HITS), default=10, metavar="K", help=f"how many (1 to {MAX_HITS})")
    parser.add_argument("--copies", action="store_true", help="list every copy of a story, not one hit per story")
    parser.add_argument("--json", action="store_true",
                        help="one EnrichedArticle JSON object per line, with a score, story_id, story_copies and story_outlets")
    add_config_option(parser)
    parser.set_defaults(func=run)


def search(settings: Settings, query: SearchQuery) -> list[SearchHit]:
    """Search the configured index (Elasticsearch when configured, else the embedded one)."""
    with open_index(settings, must_exist=True) as index:
        return index.search(query)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    if len(" ".join(args.query)) > MAX_QUERY_CHARS:
        print(f"newswire: the query is over {MAX_QUERY_CHARS} characters", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    hits = search(settings, search_query(args, limit=args.limit, copies=args.copies))
    if args.json:
        for hit in hits:
            sys.stdout.write(safe_json(json.dumps(hit.to_dict(), ensure_ascii=False)) + "\n")
    else:
        render_hits(hits, Console(highlight=False))
    return 0

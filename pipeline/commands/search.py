"""`newswire search QUERY`: full text over indexed articles, with entity filters; one hit per story unless `--copies`."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from pipeline.commands import add_config_option
from pipeline.commands.console import configure_logging, render_hits
from pipeline.runtime.indexes import open_index
from pipeline.search import SearchHit, SearchQuery
from pipeline.settings import Settings, load_settings

__all__ = ["add_parser", "search"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search", help="search indexed articles")
    parser.add_argument("query", nargs="*", help="words or \"a phrase\"; empty lists the newest articles")
    parser.add_argument("--person", default=None, metavar="NAME")
    parser.add_argument("--org", default=None, metavar="NAME")
    parser.add_argument("--place", default=None, metavar="NAME")
    parser.add_argument("--speaker", default=None, metavar="NAME")
    parser.add_argument("--language", default=None, metavar="L", help="only articles in this language (ISO 639-1, e.g. en, fr)")
    parser.add_argument("--limit", type=int, default=10, metavar="K")
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
    if args.limit < 1:
        print("newswire: --limit must be at least 1", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    query = SearchQuery(
        text=" ".join(args.query), person=args.person, org=args.org, place=args.place,
        speaker=args.speaker, limit=args.limit, language=args.language, copies=args.copies,
    )
    hits = search(settings, query)
    if args.json:
        for hit in hits:
            sys.stdout.write(json.dumps(hit.to_dict(), ensure_ascii=False) + "\n")
    else:
        render_hits(hits, Console(highlight=False))
    return 0

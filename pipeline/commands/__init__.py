"""CLI commands: each module adds its subcommand to the parser and calls library functions.

`pipeline.cli` imports these modules; they never import it (the dependency runs one way).
"""

from __future__ import annotations

import argparse
from datetime import date

from pipeline.search import SearchQuery

__all__ = ["add_config_option", "add_search_options", "search_query", "count"]


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Every command takes `-c FILE` (default `$NEWSWIRE_CONFIG` or config/newswire.yaml)."""
    parser.add_argument("-c", "--config", default=None, metavar="FILE", help="config file (default config/newswire.yaml)")


def count(maximum: int):
    """An argparse type: a whole number from 1 to `maximum` (an absurd `--limit` is a usage error, not an overflow)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be at least 1 and at most {maximum}")
        return value

    return parse


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_search_options(parser: argparse.ArgumentParser) -> None:
    """The query words and the search filters, shared by `search` and `export`."""
    parser.add_argument("query", nargs="*", help="words or \"a phrase\" (OR between words); empty: every article")
    parser.add_argument("--person", default=None, metavar="NAME")
    parser.add_argument("--org", default=None, metavar="NAME")
    parser.add_argument("--place", default=None, metavar="NAME")
    parser.add_argument("--speaker", default=None, metavar="NAME")
    parser.add_argument("--source", default=None, metavar="NAME", help="the source's configured name")
    parser.add_argument("--language", default=None, metavar="L", help="ISO 639-1 code, e.g. en")
    parser.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD", help="dated on or after this day (UTC)")
    parser.add_argument("--until", type=_day, default=None, metavar="YYYY-MM-DD", help="dated on or before this day (UTC)")


def search_query(args: argparse.Namespace, **extra: object) -> SearchQuery:
    """The SearchQuery the options of `add_search_options` describe."""
    return SearchQuery(
        text=" ".join(args.query), person=args.person, org=args.org, place=args.place, speaker=args.speaker,
        source=args.source, language=args.language, since=args.since, until=args.until, **extra,  # type: ignore[arg-type]
    )

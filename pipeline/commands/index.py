"""`newswire index rollover` and `newswire index prune`: the Elasticsearch indices behind the alias."""

from __future__ import annotations

import argparse
import logging
import sys

from pipeline.commands import add_config_option
from pipeline.commands.console import configure_logging, printable
from pipeline.errors import ConfigError
from pipeline.settings import Settings, load_settings

__all__ = ["add_parser"]

logger = logging.getLogger("newswire.index")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    index_parser = subparsers.add_parser("index", help="roll the Elasticsearch write index over, prune old indices")
    actions = index_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    rollover_parser = actions.add_parser("rollover", help="roll over now if a configured threshold is met (--force: always)")
    rollover_parser.add_argument("--force", action="store_true", help="roll over whatever the thresholds say")
    add_config_option(rollover_parser)
    rollover_parser.set_defaults(func=rollover)
    prune_parser = actions.add_parser("prune", help="list (or, with --apply, delete) indices older than elasticsearch.retention")
    prune_parser.add_argument("--apply", action="store_true", help="delete them (default: only list them)")
    add_config_option(prune_parser)
    prune_parser.set_defaults(func=prune)


def _elastic(settings: Settings, command: str):
    if not settings.elasticsearch.hosts:
        raise ConfigError(f"`newswire index {command}` works on Elasticsearch: set elasticsearch.hosts")
    from pipeline.index.elastic import ElasticIndex

    return ElasticIndex(settings.elasticsearch)


def rollover(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "INFO")
    settings = load_settings(args.config)
    with _elastic(settings, "rollover") as index:
        lines = index.rollover(force=args.force) or [f"alias {settings.elasticsearch.index}: no threshold met, nothing rolled over"]
    for line in lines:
        print(f"newswire: {printable(line)}", file=sys.stderr)
    return 0


def prune(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "INFO")
    settings = load_settings(args.config)
    if settings.elasticsearch.retention is None:
        raise ConfigError("`newswire index prune` needs elasticsearch.retention (seconds) in the config")
    with _elastic(settings, "prune") as index:
        lines = index.prune(settings.elasticsearch.retention, apply=args.apply)
    for line in lines:
        print(f"newswire: {printable(line)}", file=sys.stderr)
    if not args.apply and any(line.startswith("would delete") for line in lines):
        print("newswire: a dry run: nothing deleted (--apply deletes them)", file=sys.stderr)
    return 0

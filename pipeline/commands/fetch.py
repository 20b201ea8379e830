"""`newswire fetch SOURCE...`: run the matching connector once and print Article JSON lines."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.commands import add_config_option
from pipeline.commands.console import configure_logging, safe_json
from pipeline.errors import ConfigError, NewswireError
from pipeline.plugin.connector import Connector, ConnectorContext
from pipeline.plugin.registry import build_connector, connector_class, known_types
from pipeline.runtime.loop import read_batches
from pipeline.settings import load_settings

__all__ = ["add_parser", "connector_for_source", "fetch"]

logger = logging.getLogger("newswire.fetch")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fetch", help="read a file, folder or feed URL once and print Article JSON lines")
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="a file, a folder or a feed URL")
    parser.add_argument("--type", dest="connector_type", default=None, help="connector type to use (default: guessed)")
    add_config_option(parser)
    parser.set_defaults(func=run)


def _name_for(source: str) -> str:
    if "://" in source:
        return urlsplit(source).hostname or "feed"
    path = Path(source)
    root = path if path.is_dir() else path.parent
    return os.path.basename(os.path.abspath(root)) or "files"


def connector_for_source(source: str, context: ConnectorContext, connector_type: str | None = None) -> Connector:
    """The connector that reads `source` (the context's checkpoint is in memory: nothing is kept)."""
    types = [connector_type] if connector_type else known_types()
    for type_name in types:
        options = connector_class(type_name).options_for_source(source)
        if options is not None:
            connector = build_connector(type_name, _name_for(source), options, context)
            try:
                connector.setup()
            except NewswireError:
                raise
            except Exception as e:
                raise ConfigError(f"{type_name} cannot read '{source}': {type(e).__name__}: {e}") from None
            return connector
    raise ConfigError(f"no connector reads '{source}' (not an existing file or folder, nor an http(s) feed URL)")


def fetch(sources: list[str], settings, out=sys.stdout, connector_type: str | None = None) -> tuple[int, int]:
    """Print every source's articles as JSON lines; returns (articles, problems).

    A source no connector can read is one line and one problem; the sources after it are read.
    """
    articles = problems = 0
    for source in sources:
        context = ConnectorContext(data_dir=settings.data_dir, limits=settings.limits)
        try:
            connector = connector_for_source(source, context, connector_type)
        except NewswireError as e:
            logger.error("%s", e)
            problems += 1
            continue
        try:
            for batch in read_batches(connector, settings.nlp.batch_size):
                for article in batch.articles:
                    out.write(safe_json(article.to_json()) + "\n")
                out.flush()
                articles += len(batch.articles)
                problems += len(batch.dead)
        finally:
            connector.close()
    return articles, problems


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    _, problems = fetch(args.sources, settings, connector_type=args.connector_type)
    return 1 if problems else 0

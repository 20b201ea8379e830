"""`newswire feeds import FILE.opml [-c CONFIG]`: add a feed reader's subscriptions as rss connectors."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline.commands import add_config_option
from pipeline.feeds.opml import import_opml
from pipeline.settings import DEFAULT_CONFIG, ENV_PREFIX

__all__ = ["add_parser", "run_import", "config_path"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("feeds", help="manage feed connectors (import an OPML subscription list)")
    actions = parser.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    importer = actions.add_parser("import", help="add every feed of an OPML file as an rss connector to the config")
    importer.add_argument("opml", metavar="FILE.opml", help="an OPML export of a feed reader")
    add_config_option(importer)
    importer.set_defaults(func=run_import)


def config_path(value: str | None) -> Path:
    """`-c FILE`, else `$NEWSWIRE_CONFIG`, else config/newswire.yaml."""
    return Path(value or os.environ.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG)


def run_import(args: argparse.Namespace, out=sys.stdout) -> int:
    """Import, then say what was added; errors are NewswireErrors the CLI prints as one line."""
    from pipeline.commands.console import configure_logging

    configure_logging(getattr(args, "log_level", None) or "WARNING")
    path = config_path(getattr(args, "config", None))
    created = not path.exists()
    names = import_opml(args.opml, path)
    if not names:
        print(f"no new feeds: every feed in {args.opml} is already in {path}", file=out)
        return 0
    verb = "created" if created else "updated"
    from pipeline.commands.console import printable

    shown = printable(", ".join(names))
    print(f"{verb} {printable(path)}: added {len(names)} feed{'s' if len(names) != 1 else ''}: {shown}", file=out)
    return 0

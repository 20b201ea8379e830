"""`newswire feeds status|add|remove|import`: watch the fleet, and change its feeds while it runs.

    newswire feeds status [-c FILE] [--json]            one row per feed: state, last fetch, next due, ...
    newswire feeds add URL [--fleet NAME] [--title T]   into the feed store (a running pipeline picks it up)
    newswire feeds remove URL|NAME [--fleet NAME]
    newswire feeds import FILE.opml [--fleet NAME]      every feed of a reader's export into the store
    newswire feeds import FILE.opml --into-config       ...or as `rss` entries appended to the config file

The store is `data_dir/feeds.json` in the embedded mode and the `topics.feeds` topic with Kafka.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.commands import add_config_option
from pipeline.errors import ConfigError, visible
from pipeline.feeds.opml import import_opml, read_opml
from pipeline.feeds.status import summary
from pipeline.feeds.store import DEFAULT_FLEET, FLEET_TYPE, FeedSpec, feed_key
from pipeline.settings import DEFAULT_CONFIG, ENV_PREFIX, Settings, load_settings

__all__ = ["add_parser", "run_import", "run_status", "run_add", "run_remove", "config_path", "default_fleet"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("feeds", help="the feed fleet: status, and add, remove or import feeds while it runs")
    actions = parser.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)

    status = actions.add_parser("status", help="one row per feed: state, last fetch, next due, items in 24 h, failures")
    status.add_argument("--json", action="store_true", help="one JSON object per feed and line")
    add_config_option(status)
    status.set_defaults(func=run_status)

    add = actions.add_parser("add", help="add a feed to the fleet (a running run or connectors worker picks it up)")
    add.add_argument("url", metavar="URL")
    add.add_argument("--title", default="", help="a name to remember it by")
    _fleet_option(add)
    add_config_option(add)
    add.set_defaults(func=run_add)

    remove = actions.add_parser("remove", help="remove a feed from the fleet (by URL or by its name in `feeds status`)")
    remove.add_argument("feed", metavar="URL|NAME")
    _fleet_option(remove)
    add_config_option(remove)
    remove.set_defaults(func=run_remove)

    importer = actions.add_parser("import", help="add every feed of an OPML file to the fleet")
    importer.add_argument("opml", metavar="FILE.opml", help="an OPML export of a feed reader")
    importer.add_argument("--into-config", action="store_true",
                          help="append them to the config file as rss connectors instead (read at start only)")
    _fleet_option(importer)
    add_config_option(importer)
    importer.set_defaults(func=run_import)


def _fleet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fleet", default=None, metavar="NAME",
                        help="which fleet (a `type: feeds` connector); default: the config's first, else 'feeds'")


def config_path(value: str | None) -> Path:
    """`-c FILE`, else `$NEWSWIRE_CONFIG`, else config/newswire.yaml."""
    return Path(value or os.environ.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG)


def default_fleet(settings: Settings, chosen: str | None) -> str:
    """`--fleet`, else the config's first `feeds` connector, else 'feeds'."""
    fleets = [block.name for block in settings.connectors if block.type == FLEET_TYPE]
    if chosen is not None:
        others = {block.name for block in settings.connectors if block.type != FLEET_TYPE}
        if chosen in others:
            raise ConfigError(f"'{chosen}' is a connector of another type, not a fleet (type: feeds)")
        return chosen
    return fleets[0] if fleets else DEFAULT_FLEET


def _quiet(args: argparse.Namespace) -> None:
    from pipeline.commands.console import configure_logging

    configure_logging(getattr(args, "log_level", None) or "WARNING")


def _store(settings: Settings):
    from pipeline.runtime.sources import feed_store

    return feed_store(settings)


def run_status(args: argparse.Namespace, out=sys.stdout) -> int:
    _quiet(args)
    from pipeline.runtime.sources import fleet_status

    rows = fleet_status(load_settings(args.config))
    if args.json:
        for row in rows:
            out.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
        return 0
    console = Console(file=out, highlight=False, soft_wrap=False, width=None if out is sys.stdout else 200)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("feed", "state", "last fetch", "next due", "items 24h", "failures", "last error"):
        table.add_column(column, no_wrap=column not in ("feed", "last error"),
                         justify="right" if column in ("items 24h", "failures") else "left")
    for row in rows:
        table.add_row(
            Text(visible(row.url or row.name)), Text(row.state), Text(_short(row.last_fetch)), Text(_short(row.next_due)),
            str(row.items_24h), str(row.failures), Text(visible(row.last_error or "")),
        )
    console.print(table)
    console.print(Text(summary(rows)))
    return 0


def _short(moment: str | None) -> str:
    return moment.replace("+00:00", "Z") if moment else "-"


def run_add(args: argparse.Namespace, out=sys.stdout) -> int:
    _quiet(args)
    settings = load_settings(args.config)
    fleet = default_fleet(settings, args.fleet)
    try:
        spec = FeedSpec(fleet=fleet, url=args.url, title=args.title)
    except ValidationError as e:
        reason = str(e.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"cannot add {visible(args.url)}: {reason}") from None
    added = _store(settings).add([spec])
    verb = "added" if added else "already in the fleet:"
    print(f"{verb} {spec.key} ({visible(spec.url)}) to fleet {fleet}", file=out)
    return 0


def run_remove(args: argparse.Namespace, out=sys.stdout) -> int:
    _quiet(args)
    settings = load_settings(args.config)
    fleet = default_fleet(settings, args.fleet)
    store = _store(settings)
    feeds = store.load()
    wanted = args.feed.strip()
    keys = [key for key, spec in feeds.items()
            if key == wanted or (spec.fleet == fleet and (spec.url == wanted or key == feed_key(fleet, wanted)))]
    if not keys:
        raise ConfigError(f"no feed {visible(wanted)} in fleet {fleet} (see `newswire feeds status`)")
    for spec in store.remove(keys):
        print(f"removed {spec.key} ({visible(spec.url)}) from fleet {spec.fleet}", file=out)
    return 0


def run_import(args: argparse.Namespace, out=sys.stdout) -> int:
    """Import into the fleet's store (or the config), then say what was added."""
    _quiet(args)
    if getattr(args, "into_config", False):
        return _import_into_config(args, out)
    settings = load_settings(args.config)
    fleet = default_fleet(settings, args.fleet)
    specs = [FeedSpec(fleet=fleet, url=feed.url, title=feed.title) for feed in read_opml(args.opml)]
    added = _store(settings).add(specs)
    already = len({spec.key for spec in specs}) - len(added)
    note = f" ({already} already there)" if already else ""
    print(f"added {len(added)} feed{'s' if len(added) != 1 else ''} from {args.opml} to fleet {fleet}{note}", file=out)
    return 0


def _import_into_config(args: argparse.Namespace, out) -> int:
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

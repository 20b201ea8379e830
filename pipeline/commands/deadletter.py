"""`newswire deadletter list|replay`: inspect and re-drive records that could not be processed."""

from __future__ import annotations

import argparse
import sys

from pipeline.commands import add_config_option, count
from pipeline.commands.console import configure_logging, printable, safe_json
from pipeline.deadletter import DeadLetter
from pipeline.runtime.deadletters import read_deadletters, replay_deadletters
from pipeline.settings import load_settings

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("deadletter", help="inspect and re-drive dead-lettered records")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    list_parser = actions.add_parser("list", help="print dead letters, oldest first")
    list_parser.add_argument("--json", action="store_true", help="one dead-letter JSON object per line")
    list_parser.add_argument("--limit", type=count(1_000_000), default=None, metavar="K")
    add_config_option(list_parser)
    list_parser.set_defaults(func=run_list)
    replay_parser = actions.add_parser("replay", help="send dead letters through the pipeline again")
    add_config_option(replay_parser)
    replay_parser.set_defaults(func=run_replay)


def _describe(letter: DeadLetter) -> str:
    where = " ".join(f"{key}={value}" for key, value in letter.source.items())
    ident = f" id={letter.article_id}" if letter.article_id else ""
    line = f"{letter.failed_at:%Y-%m-%d %H:%M:%S} stage={letter.stage}{ident} {where} reason={letter.reason}"
    return printable(line.replace("  ", " "))


def run_list(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    for letter in read_deadletters(settings, args.limit):
        print(safe_json(letter.to_json()) if args.json else _describe(letter))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    replayed, kept = replay_deadletters(settings)
    print(f"newswire: replayed {replayed} record(s); {kept} still dead-lettered", file=sys.stderr)
    return 0

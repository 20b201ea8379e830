"""`newswire deadletter list|replay`: inspect and re-drive records that could not be processed."""

from __future__ import annotations

import argparse
import sys

from pipeline.commands import add_config_option
from pipeline.article import parse_article
from pipeline.commands.console import configure_logging
from pipeline.deadletter import DeadLetter, DeadLetterFile
from pipeline.errors import InvalidArticle
from pipeline.settings import Settings, load_settings

__all__ = ["add_parser", "replay_embedded"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("deadletter", help="inspect and re-drive dead-lettered records")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    list_parser = actions.add_parser("list", help="print dead letters, oldest first")
    list_parser.add_argument("--json", action="store_true", help="one dead-letter JSON object per line")
    list_parser.add_argument("--limit", type=int, default=None, metavar="K")
    add_config_option(list_parser)
    list_parser.set_defaults(func=run_list)
    replay_parser = actions.add_parser("replay", help="send dead letters through the pipeline again")
    add_config_option(replay_parser)
    replay_parser.set_defaults(func=run_replay)


def _describe(letter: DeadLetter) -> str:
    where = " ".join(f"{key}={value}" for key, value in letter.source.items())
    ident = f" id={letter.article_id}" if letter.article_id else ""
    return f"{letter.failed_at:%Y-%m-%d %H:%M:%S} stage={letter.stage}{ident} {where} reason={letter.reason}".replace("  ", " ")


def read_letters(settings: Settings, limit: int | None = None) -> list[DeadLetter]:
    if settings.distributed:
        from pipeline.runtime.distributed import read_deadletters

        return read_deadletters(settings, limit)
    from pipeline.runtime.embedded import deadletter_path

    letters = DeadLetterFile(deadletter_path(settings)).read()
    return letters[:limit] if limit else letters


def replay_embedded(settings: Settings, enricher=None) -> tuple[int, int]:
    """Re-run every replayable dead letter through enrichment and indexing; keep the rest. Returns (replayed, kept).

    The store is rewritten only after the replay is indexed, so a crash midway loses nothing
    (replaying again is harmless: the ids make it overwrite).
    """
    from pipeline.runtime.embedded import EmbeddedRuntime, deadletter_path

    store = DeadLetterFile(deadletter_path(settings))
    letters = store.read()
    articles, kept = [], []
    for letter in letters:
        try:
            articles.append(parse_article(letter.payload_bytes()))
        except InvalidArticle:
            kept.append(letter)
    if not articles:
        return 0, len(kept)
    runtime = EmbeddedRuntime(settings, enricher=enricher)
    runtime.enricher.warm_up()
    with runtime.index:
        report = runtime.enrich_and_index(articles, [])  # appends what still fails to the store
    store.replace(kept + store.read()[len(letters):])
    return report.indexed, len(kept) + report.dead


def run_list(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    for letter in read_letters(settings, args.limit):
        print(letter.to_json() if args.json else _describe(letter))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    if settings.distributed:
        from pipeline.runtime.distributed import replay_deadletters

        replayed, kept = replay_deadletters(settings)
    else:
        replayed, kept = replay_embedded(settings)
    print(f"newswire: replayed {replayed} record(s); {kept} still dead-lettered", file=sys.stderr)
    return 0

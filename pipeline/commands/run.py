"""`newswire run`, `newswire setup` and `newswire worker ROLE`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from contextlib import contextmanager

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipeline.commands import add_config_option
from pipeline.commands.console import configure_logging, printable, stderr
from pipeline.errors import ConfigError
from pipeline.settings import Settings, load_settings

__all__ = ["add_parser", "stop_on_signals"]

logger = logging.getLogger("newswire.run")

ROLES = ("connectors", "enrich", "sink")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    run_parser = subparsers.add_parser("run", help="run connectors, enrichment and indexing (embedded unless Kafka is configured)")
    run_parser.add_argument("--once", action="store_true", help="process what the connectors have now, wait until searchable, exit")
    add_config_option(run_parser)
    run_parser.set_defaults(func=run)

    setup_parser = subparsers.add_parser("setup", help="create topics, index template and alias (idempotent)")
    add_config_option(setup_parser)
    setup_parser.set_defaults(func=setup)

    worker_parser = subparsers.add_parser("worker", help="run one role of the distributed pipeline")
    worker_parser.add_argument("role", choices=ROLES)
    add_config_option(worker_parser)
    worker_parser.set_defaults(func=worker)


@contextmanager
def stop_on_signals():
    """An event set by SIGTERM or SIGINT: the current batch finishes, is committed, and the run ends."""
    stop = threading.Event()
    previous = {}

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        logger.warning("stopping after the current batch (signal %s)", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _require_kafka(settings: Settings, what: str) -> None:
    if not settings.distributed:
        raise ConfigError(f"{what} needs Kafka: set kafka.bootstrap_servers (or NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS)")


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    from pipeline.runtime import run_pipeline

    with stop_on_signals() as stop, _progress_bar(settings) as progress:
        report = run_pipeline(settings, once=args.once, stop=stop, progress=progress)
    print(
        f"newswire: read {report.read} article(s), indexed {report.indexed}, dead-lettered {report.dead}",
        file=sys.stderr,
    )
    return 0


@contextmanager
def _progress_bar(settings: Settings):
    """A progress callback drawing a spinner line on a terminal (embedded mode); None elsewhere."""
    if settings.distributed or not stderr.is_terminal:
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=stderr, transient=True) as bar:
        task = bar.add_task("loading the language model…", total=None)
        counts = {"indexed": 0, "dead": 0}

        def progress(connector, report):
            counts["indexed"] += report.indexed
            counts["dead"] += report.dead
            name = escape(printable(connector.name))  # the description is rich markup
            bar.update(task, description=f"{name}: {counts['indexed']} indexed, {counts['dead']} dead-lettered")

        yield progress


def setup(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "INFO")
    settings = load_settings(args.config)
    from pipeline.runtime.distributed import setup_services

    for line in setup_services(settings):
        print(f"newswire: {line}", file=sys.stderr)
    return 0


def worker(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "INFO", worker=True)
    settings = load_settings(args.config)
    _require_kafka(settings, f"newswire worker {args.role}")
    from pipeline.runtime.distributed import run_worker

    with stop_on_signals() as stop:
        run_worker(settings, args.role, stop=stop)
    return 0

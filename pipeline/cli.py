"""The `newswire` command: a thin layer over library functions that tests call directly.

Errors newswire raises on purpose are one line on stderr and a non-zero exit. Anything
else is a bug: it is one line too (`internal error`), and `--log-level DEBUG` shows its
traceback. Every message is made printable first (it may quote a file name or a feed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from pipeline import __version__
from pipeline.commands.console import printable
from pipeline.errors import ConfigError, NewswireError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

COMMAND_MODULES = (
    "pipeline.commands.fetch",
    "pipeline.commands.enrich",
    "pipeline.commands.run",
    "pipeline.commands.search",
    "pipeline.commands.deadletter",
    "pipeline.commands.feeds",
    "pipeline.commands.export",
    "pipeline.commands.serve",
    "pipeline.commands.index",
)

EXIT_ERROR = 1
EXIT_USAGE = 2

logger = logging.getLogger("newswire.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswire",
        description="Streaming news ingestion: feeds and files in, entities and quotes out, searchable.",
    )
    parser.add_argument("--version", action="version", version=f"newswire {__version__}")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default) or ERROR")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"newswire: configuration error: {printable(e)}", file=sys.stderr)
        return EXIT_USAGE
    except NewswireError as e:
        print(f"newswire: error: {printable(e)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("newswire: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return EXIT_ERROR
    except Exception as e:  # a bug: still one line; the traceback at DEBUG
        logger.debug("internal error", exc_info=True)
        print(f"newswire: internal error: {type(e).__name__}: {printable(e)} (--log-level DEBUG shows where)", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""CLI commands: each module adds its subcommand to the parser and calls library functions.

`pipeline.cli` imports these modules; they never import it (the dependency runs one way).
"""

from __future__ import annotations

import argparse

__all__ = ["add_config_option", "count"]


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

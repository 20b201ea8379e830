"""CLI commands: each module adds its subcommand to the parser and calls library functions.

`pipeline.cli` imports these modules; they never import it (the dependency runs one way).
"""

from __future__ import annotations

import argparse

__all__ = ["add_config_option"]


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Every command takes `-c FILE` (default `$NEWSWIRE_CONFIG` or config/newswire.yaml)."""
    parser.add_argument("-c", "--config", default=None, metavar="FILE", help="config file (default config/newswire.yaml)")

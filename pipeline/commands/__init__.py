"""CLI commands: each module adds its subcommand to the parser and calls library functions."""

"""`newswire enrich`: Article JSON lines on stdin, EnrichedArticle JSON lines on stdout, same order."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TextIO

from pipeline.commands import add_config_option
from pipeline.article import Article, parse_article
from pipeline.commands.console import configure_logging, safe_json
from pipeline.enrich import Enricher
from pipeline.runtime.steps import enrich_step, make_enricher
from pipeline.errors import InvalidArticle
from pipeline.settings import load_settings

__all__ = ["add_parser", "enrich_lines"]

logger = logging.getLogger("newswire.enrich")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("enrich", help="add entities and quotes to Article JSON lines (stdin → stdout)")
    add_config_option(parser)
    parser.set_defaults(func=run)


def _chunks(lines: Iterable[str | bytes], size: int) -> Iterator[list[tuple[int, str | bytes]]]:
    chunk: list[tuple[int, str | bytes]] = []
    for number, line in enumerate(lines, start=1):
        chunk.append((number, line))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def enrich_lines(lines: Iterable[str | bytes], out: TextIO, enricher: Enricher, batch_size: int = 64, max_line_bytes: int | None = None) -> int:
    """Enrich JSON lines batch by batch, writing results in input order; returns the number of bad lines."""
    bad = 0
    for chunk in _chunks(lines, batch_size):
        articles: list[Article] = []
        for number, line in chunk:
            if not line.strip():
                continue
            size = len(line) if isinstance(line, bytes) else len(line.encode("utf-8", "replace"))
            if max_line_bytes is not None and size > max_line_bytes:
                logger.error("line %d: over the size limit of %d bytes", number, max_line_bytes)
                bad += 1
                continue
            try:
                articles.append(parse_article(line))
            except InvalidArticle as e:
                logger.error("line %d: %s", number, e)
                bad += 1
        passed = enrich_step(enricher, articles)  # language first; entities and quotes for English
        for letter in passed.dead:
            logger.error("article %s: enrichment failed: %s", letter.article_id, letter.reason)
            bad += 1
        for result in passed.articles:
            out.write(safe_json(result.to_json()) + "\n")
        out.flush()
    return bad


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    enricher = make_enricher(settings)
    enricher.warm_up()
    stdin = sys.stdin.buffer
    limit = settings.limits.max_body_bytes * 2
    bad = enrich_lines(stdin, sys.stdout, enricher, settings.nlp.batch_size, limit)
    if bad:
        logger.error("%d bad line(s) skipped", bad)
    return 1 if bad else 0

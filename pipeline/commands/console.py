"""Terminal output: logging set-up, progress that stays quiet off a terminal, readable search hits."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from pipeline.search import SearchHit

__all__ = ["configure_logging", "stderr", "render_hits"]

stderr = Console(stderr=True, highlight=False)


class _OneLine(logging.Filter):
    """Client libraries log their connection trouble with tracebacks; keep their one-line message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("pipeline", "connectors", "newswire")):
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def configure_logging(level: str = "WARNING", *, worker: bool = False) -> None:
    """Interactive commands print `newswire: message` lines; workers print timestamped key=value lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_OneLine())
    if worker:
        handler.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("newswire: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries narrate their retries; a worker's log keeps their warnings, while an
    # interactive command ends with one line of its own that says what failed.
    library_level = logging.WARNING if worker or root.level <= logging.DEBUG else logging.CRITICAL
    for noisy in ("kafka", "elastic_transport", "elasticsearch", "urllib3", "httpx", "httpcore", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(library_level)


def _highlight(snippet: str) -> Text:
    """`[`…`]` marks from the index become bold."""
    text = Text()
    rest = snippet
    while "[" in rest and "]" in rest.split("[", 1)[1]:
        before, after = rest.split("[", 1)
        term, rest = after.split("]", 1)
        text.append(before)
        text.append(term, style="bold yellow")
    text.append(rest)
    return text


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def render_hits(hits: list[SearchHit], console: Console) -> None:
    """A readable list: title, date, source, how many copies its story has and where, a snippet with the match,
    top entities, quotes with speakers."""
    if not hits:
        console.print("No articles found.")
        return
    for rank, hit in enumerate(hits, start=1):
        article = hit.article
        console.print(Text.assemble((f"{rank}. ", "bold"), (article.title or article.id, "bold cyan")))
        if article.published_at:
            when = article.published_at.date().isoformat()
        else:
            when = f"fetched {article.fetched_at.date().isoformat()}" if article.fetched_at else ""
        source = article.source
        where = ":".join(part for part in (source.connector, source.name) if part) if source else ""
        meta = " · ".join(part for part in (when, where, article.language or "", article.url or article.id) if part)
        console.print(Text("   " + meta, style="dim"))
        if hit.copies > 1:
            outlets = ", ".join(hit.outlets[:6]) + (", …" if len(hit.outlets) > 6 else "")
            console.print(Text(f"   {hit.copies} copies of this story" + (f": {outlets}" if outlets else ""), style="magenta"))
        for snippet in hit.snippets[:2]:
            console.print(Text("   ") + _highlight(_shorten(snippet, 300)))
        for label, names in (("People", article.people), ("Organizations", article.organizations), ("Places", article.places)):
            if names:
                console.print(f"   [bold]{label}:[/bold] {escape(', '.join(names[:8]))}")
        for quote in article.quotes[:5]:
            speaker = quote.speaker or "unattributed"
            console.print(f"   “{escape(_shorten(quote.text, 200))}” — [green]{escape(speaker)}[/green]")
        console.print()

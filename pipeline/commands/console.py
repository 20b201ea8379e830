"""Terminal output: logging set-up, progress that stays quiet off a terminal, readable search hits.

Untrusted text (file names, feed titles, reasons, ids) never reaches the terminal raw: every
log line goes through `printable`, and so does every field the commands print. Control
characters (newlines, ESC of ANSI and OSC sequences, C1 controls), bidirectional overrides and
lone surrogates are shown as escapes (`\x1b`, `\n`, `\u202e`): a forged "read 999 articles"
line or a changed terminal title cannot be printed, and everything stays one line. Rich's own
escapes for the controls it knows come first; search hits are rich `Text`, never markup.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.control import CONTROL_ESCAPE
from rich.text import Text

from pipeline.search import SearchHit

__all__ = ["configure_logging", "stderr", "render_hits", "printable", "safe_json"]

stderr = Console(stderr=True, highlight=False)

_ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))},
    **{code: f"\\u{code:04x}" for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0xD800, 0xE000))},
    **CONTROL_ESCAPE,
    ord("\n"): "\\n",
    ord("\t"): "\\t",
}


# In JSON text the C0 controls are escaped by json.dumps already; these are escaped the JSON way too.
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (
    *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0xD800, 0xE000),
)}


def printable(text: object) -> str:
    """`text` safe to show on a terminal, on one line (see the module docstring)."""
    return str(text).translate(_ESCAPES)


def safe_json(line: str) -> str:
    """A JSON line (from json.dumps) with DEL, C1 controls, bidi overrides and lone surrogates as `\\uXXXX`:
    the same JSON value, harmless on a terminal and always writable as UTF-8."""
    return line.translate(_JSON_ESCAPES)


class _Printable(logging.Formatter):
    """Formats as usual, with the message made printable (log fields carry file names, feed titles, reasons)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)


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
        handler.setFormatter(_Printable("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    else:
        handler.setFormatter(_Printable("newswire: %(message)s"))
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
        text.append(printable(before))
        text.append(printable(term), style="bold yellow")
    text.append(printable(rest))
    return text


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _line(text: str, width: int) -> str:
    return printable(_shorten(text, width))


def render_hits(hits: list[SearchHit], console: Console) -> None:
    """A readable list: title, date, source, how many copies its story has and where, a snippet with the match,
    top entities, quotes with speakers."""
    if not hits:
        console.print("No articles found.")
        return
    for rank, hit in enumerate(hits, start=1):
        article = hit.article
        console.print(Text.assemble((f"{rank}. ", "bold"), (_line(article.title or article.id, 300), "bold cyan")))
        if article.published_at:
            when = article.published_at.date().isoformat()
        else:
            when = f"fetched {article.fetched_at.date().isoformat()}" if article.fetched_at else ""
        source = article.source
        where = ":".join(part for part in (source.connector, source.name) if part) if source else ""
        meta = " · ".join(part for part in (when, where, article.language or "", article.url or article.id) if part)
        console.print(Text("   " + _line(meta, 600), style="dim"))
        if hit.story_copies > 1:
            outlets = ", ".join(hit.story_outlets[:6]) + (", …" if len(hit.story_outlets) > 6 else "")
            console.print(Text("   " + _line(f"{hit.story_copies} copies of this story" + (f": {outlets}" if outlets else ""), 600), style="magenta"))
        for snippet in hit.snippets[:2]:
            console.print(Text("   ") + _highlight(_shorten(snippet, 300)))
        for label, names in (("People", article.people), ("Organizations", article.organizations), ("Places", article.places)):
            if names:
                console.print(Text.assemble("   ", (f"{label}:", "bold"), " ", _line(", ".join(names[:8]), 300)))
        # Direct quotes first, in quote marks; reported speech after them, marked as such and without
        # quote marks (they are the reporter's words, not the speaker's), as on the search page.
        for quote in sorted(article.quotes, key=lambda q: q.kind == "indirect")[:5]:
            speaker = quote.speaker or "unattributed"
            if quote.kind == "indirect":
                said = f"   reported ({_line(quote.cue, 40)}): " if quote.cue else "   reported: "
                console.print(Text.assemble((said, "dim"), _line(quote.text, 200), " — ", (_line(speaker, 100), "green")))
            else:
                console.print(Text.assemble(f"   “{_line(quote.text, 200)}” — ", (_line(speaker, 100), "green")))
        console.print()

"""What a sieve is, what it reads, and the words around a quote that direct-quote sieves look at.

A sieve is a small class with a `name`, a docstring saying the pattern it trusts, a `reads`
declaration (entities, part-of-speech tags, the dependency parse of which sentences) and one
method. Direct-quote sieves answer for one quote (`attribute`); reported-speech sieves find
indirect quotes in the article (`extract`). `Reads` exists so that the pipeline can run only
the NLP the enabled sieves need (issue 17): a sieve must not read anything it does not declare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pipeline.enrich.attribution.context import ArticleView, Finding
from pipeline.enrich.quotes import QuoteSpan
from pipeline.enrich.segments import Segment

if TYPE_CHECKING:
    from pipeline.enrich.attribution.resolve import SpeakerResolver

__all__ = ["Reads", "Sieve", "QuoteSieve", "ReportedSieve", "QuoteSite", "quote_site", "IndirectQuote"]

# The sentences whose dependency parse a sieve may read.
PARSE_SCOPES = frozenset({
    "quote",     # sentences holding or touching a quote's marks
    "previous",  # the two sentences before a quote
    "cue",       # sentences holding a reporting verb or "according to" outside quote marks
    "mentions",  # sentences holding an entity mention (subject and apposition tests)
})


@dataclass(frozen=True)
class Reads:
    """What a step reads from spaCy: entities, part-of-speech tags, and the parse of which sentences."""

    entities: bool = False
    pos: bool = False
    parse: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.parse) - PARSE_SCOPES
        if unknown:
            raise ValueError(f"unknown parse scope(s): {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class IndirectQuote:
    """Reported speech: `body[start:end]` is the reported content."""

    start: int
    end: int
    finding: Finding


class Sieve:
    """Base of every attribution sieve."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "direct" or "indirect"
    reads: ClassVar[Reads]


class QuoteSieve(Sieve):
    """Finds the speaker of one direct quote. `local` sieves read only the quote's own sentence and run
    over every quote first; the others borrow from neighbouring quotes and run quote by quote, in order."""

    kind = "direct"
    local: ClassVar[bool] = True

    def attribute(self, number: int, quotes: list[QuoteSpan], findings: list[Finding | None],
                  view: ArticleView, resolver: SpeakerResolver) -> Finding | None:
        raise NotImplementedError


class ReportedSieve(Sieve):
    """Finds reported speech (indirect quotes) with its speaker."""

    kind = "indirect"

    def extract(self, view: ArticleView, resolver: SpeakerResolver, taken: list[tuple[int, int]]) -> list[IndirectQuote]:
        raise NotImplementedError


@dataclass(frozen=True)
class QuoteSite:
    """The words outside quote marks around one quote, in its sentence."""

    segment: Segment
    pre: list   # tokens before the opening mark, back to the sentence start (in text order)
    post: list  # tokens after the closing mark, up to the sentence end
    terminal: bool     # the quote ends its own sentence ("... on the ground.")
    comma_close: bool  # the quote closes with a comma, dash, ? or ! (the sentence goes on)


def quote_site(view: ArticleView, quote: QuoteSpan) -> QuoteSite | None:
    """The words around `quote`, or None when its marks cannot be found in the parsed text."""
    segment = view.segment_of(quote.open)
    if segment is None:
        return None
    open_token = view.token_at(segment, quote.open, "start")
    if open_token is None:
        return None
    pre = view.window(segment, open_token - 1, -1)
    if quote.closed:
        close_token = view.token_at(segment, max(quote.close - 1, quote.open), "end")
        after = close_token + 1 if close_token is not None else None
    else:  # an unclosed quote cut where its attribution starts
        after = view.token_at(segment, quote.end, "start") if quote.close < len(view.body) else None
    post = view.window(segment, after, +1) if after is not None else []
    inner = view.body[quote.start:quote.end].rstrip()
    terminal = inner.endswith(".") or inner.endswith("...")
    comma_close = quote.closed and view.body[quote.start:quote.close - 1].rstrip().endswith((",", "?", "!", "—", "-"))
    return QuoteSite(segment, pre, post, terminal, comma_close)

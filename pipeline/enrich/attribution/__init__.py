"""Speaker attribution as an ordered list of named sieves (after Stanford CoreNLP's quote attribution).

Every direct quote goes through the sieves in order until one answers; the answer names the
speaker (or an unnamed one: "a resident said"), the cue it relied on and the sieve, so a
reader can see why. Local sieves, which read only the quote's own sentence, run first over
every quote; context sieves, which borrow from the quotes around, then run quote by quote.
Reported-speech sieves add indirect quotes. Which sieves run, and in which order, is
configurable (`nlp.sieves`), so that a harmful one can be switched off and measured.

    attributor = Attributor(CueLexicon.from_pipeline(nlp), sieves=None)   # None = DEFAULT_SIEVES
    result = attributor.attribute(segments, entity_index, quote_spans, body)
    result.direct      # one Finding | None per quote span
    result.indirect    # IndirectQuote list, in body order
    result.corrections # entity label corrections, for the corrections step
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.enrich.attribution.base import IndirectQuote, QuoteSieve, Reads, ReportedSieve, Sieve
from pipeline.enrich.attribution.context import ArticleView, Finding
from pipeline.enrich.attribution.direct import DIRECT_SIEVES
from pipeline.enrich.attribution.reported import REPORTED_SIEVES
from pipeline.enrich.attribution.resolve import SpeakerResolver
from pipeline.enrich.corrections import LabelCorrection
from pipeline.enrich.cues import CueLexicon
from pipeline.enrich.entities import EntityIndex
from pipeline.enrich.quotes import QuoteSpan
from pipeline.enrich.segments import Segment

__all__ = ["SIEVES", "DEFAULT_SIEVES", "Attributor", "AttributionResult", "Finding", "IndirectQuote", "Reads",
           "check_sieve_names"]

SIEVES: dict[str, type[Sieve]] = {cls.name: cls for cls in (*DIRECT_SIEVES, *REPORTED_SIEVES)}
DEFAULT_SIEVES: tuple[str, ...] = tuple(SIEVES)


def check_sieve_names(names: Sequence[str] | None) -> tuple[str, ...]:
    """The sieve names to run, in order; ValueError naming any unknown or repeated one."""
    if names is None:
        return DEFAULT_SIEVES
    unknown = [n for n in names if n not in SIEVES]
    if unknown:
        raise ValueError(f"unknown attribution sieve(s): {', '.join(unknown)} (known: {', '.join(SIEVES)})")
    if len(set(names)) != len(names):
        raise ValueError("an attribution sieve is listed twice")
    return tuple(names)


@dataclass
class AttributionResult:
    direct: list[Finding | None]
    indirect: list[IndirectQuote]
    corrections: list[LabelCorrection]


class Attributor:
    """Runs the configured sieves over one article's quotes."""

    def __init__(self, cues: CueLexicon, sieves: Sequence[str] | None = None) -> None:
        self.cues = cues
        self.names = check_sieve_names(sieves)
        self.sieves = [SIEVES[name]() for name in self.names]

    @property
    def reads(self) -> Reads:
        """Everything the configured sieves read, together."""
        return Reads(
            entities=any(s.reads.entities for s in self.sieves),
            pos=any(s.reads.pos for s in self.sieves),
            parse=frozenset().union(*(s.reads.parse for s in self.sieves)),
        )

    def attribute(self, segments: list[Segment], index: EntityIndex, quotes: list[QuoteSpan], body: str) -> AttributionResult:
        view = ArticleView(segments, index, quotes, body, self.cues)
        resolver = SpeakerResolver(view)
        findings: list[Finding | None] = [None] * len(quotes)
        direct = [s for s in self.sieves if isinstance(s, QuoteSieve)]
        for sieve in (s for s in direct if s.local):
            for number in range(len(quotes)):
                if findings[number] is None:
                    findings[number] = sieve.attribute(number, quotes, findings, view, resolver)
        context = [s for s in direct if not s.local]
        for number in range(len(quotes)):
            for sieve in context:
                if findings[number] is not None:
                    break
                findings[number] = sieve.attribute(number, quotes, findings, view, resolver)
        taken: list[tuple[int, int]] = []
        indirect: list[IndirectQuote] = []
        for sieve in self.sieves:
            if isinstance(sieve, ReportedSieve):
                indirect.extend(sieve.extract(view, resolver, taken))
        indirect.sort(key=lambda q: q.start)
        return AttributionResult(findings, indirect, view.corrections)

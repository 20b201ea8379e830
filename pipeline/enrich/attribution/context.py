"""What attribution knows about one article: its docs, entities, quote regions, sentences, cues.

`ArticleView` answers the questions every sieve asks (is this position inside a quote, which
doc holds it, where do sentences start, which entity mentions come before it) and collects
the label corrections attribution proposes, so that nothing here changes an entity in place.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.enrich.cues import CueLexicon
from pipeline.enrich.corrections import LabelCorrection
from pipeline.enrich.entities import EntityCluster, EntityIndex, Mention, normalize_name
from pipeline.enrich.quotes import QuoteSpan
from pipeline.enrich.segments import Segment

__all__ = ["ArticleView", "Finding", "SENTENCE_END", "SUBJECT_DEPS", "OBJECT_DEPS", "WINDOW_TOKENS"]

SENTENCE_END = frozenset({".", "!", "?"})
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
OBJECT_DEPS = frozenset({"pobj", "dobj", "iobj", "poss", "dative"})
WINDOW_TOKENS = 40
_LOOK_BACK_MENTIONS = 200


@dataclass(frozen=True)
class Finding:
    """A sieve's answer for one quote: the speaker entity (None when unnamed), the cue, the sieve."""

    speaker: EntityCluster | None
    cue: str | None
    sieve: str


@dataclass
class ArticleView:
    """One article as attribution reads it."""

    segments: list[Segment]
    index: EntityIndex
    quotes: list[QuoteSpan]
    body: str
    cues: CueLexicon
    corrections: list[LabelCorrection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.regions = sorted((q.open, q.close) for q in self.quotes)
        self._region_starts = [r[0] for r in self.regions]
        self._sentence_starts: list[int] | None = None
        self.mentions = sorted(
            ((m, c) for c in self.index.clusters for m in c.mentions if not self.in_quote(m.start)),
            key=lambda pair: pair[0].start,
        )
        self._mention_starts = [m.start for m, _ in self.mentions]
        self._new_names: dict[str, EntityCluster] = {}
        self.sites: dict = {}  # the words around each quote, computed once by the sieves that read them

    # --- positions ------------------------------------------------------------------
    def in_quote(self, position: int) -> bool:
        at = bisect.bisect_right(self._region_starts, position) - 1
        return at >= 0 and self.regions[at][0] <= position < self.regions[at][1]

    def quoted_chars(self, start: int, end: int) -> int:
        """How many characters of body[start:end] lie inside quote marks."""
        at = max(0, bisect.bisect_right(self._region_starts, start) - 1)
        total = 0
        while at < len(self.regions) and self.regions[at][0] < end:
            total += max(0, min(end, self.regions[at][1]) - max(start, self.regions[at][0]))
            at += 1
        return total

    def segment_of(self, position: int) -> Segment | None:
        for segment in self.segments:
            local = segment.doc_pos(position)
            if 0 <= local < segment.length:
                return segment
        return None

    def token_at(self, segment: Segment, position: int, side: str) -> int | None:
        """Index of the token at a body position (its first or last token when `side` is start/end)."""
        local = segment.doc_pos(position)
        span = segment.doc.char_span(local, local + 1, alignment_mode="expand")
        if span is None or len(span) == 0:
            return None
        return span.start if side == "start" else span.end - 1

    @property
    def sentence_starts(self) -> list[int]:
        if self._sentence_starts is None:  # only some sieves need sentences
            starts = [segment.body_pos(sent.start_char) for segment in self.segments for sent in segment.doc.sents]
            self._sentence_starts = sorted(starts)
        return self._sentence_starts

    def sentence_floor(self, position: int, back: int) -> int:
        """Start of the sentence `back` sentences before the one holding `position`."""
        starts = self.sentence_starts
        at = bisect.bisect_right(starts, position) - 1
        at = max(0, at - back)
        return starts[at] if starts else 0

    def window(self, segment: Segment, start: int, step: int) -> list:
        """Tokens outside quotes from token `start` going `step` (+1/-1) until the sentence ends."""
        doc = segment.doc
        tokens = []
        index = start
        while 0 <= index < len(doc) and len(tokens) < WINDOW_TOKENS:
            token = doc[index]
            if _is_boundary(token) or self.in_quote(segment.token_body_start(index)):
                break
            tokens.append(token)
            if step > 0 and "\n" in token.whitespace_:
                break
            index += step
        return tokens if step > 0 else tokens[::-1]

    # --- entities ---------------------------------------------------------------------
    def mentions_before(self, position: int) -> Iterator[tuple[Mention, EntityCluster]]:
        """Mentions outside quotes that start before `position`, latest first (a bounded look-back)."""
        end = bisect.bisect_left(self._mention_starts, position)
        for at in range(end - 1, max(-1, end - 1 - _LOOK_BACK_MENTIONS), -1):
            yield self.mentions[at]

    def entity_at(self, segment: Segment, token_index: int) -> EntityCluster | None:
        return self.index.at_token(segment.number, token_index) or self._new_names.get(f"@{segment.number}:{token_index}")

    def by_name(self, name: str) -> EntityCluster | None:
        return self.index.by_name(name) or self._new_names.get(normalize_name(name))

    def label_of(self, cluster: EntityCluster) -> str:
        """The cluster's label with the corrections proposed so far."""
        for correction in reversed(self.corrections):
            if correction.cluster is cluster:
                return correction.label
        return cluster.label

    def propose(self, cluster: EntityCluster, label: str, reason: str) -> EntityCluster:
        """Record that `cluster` should carry `label` (applied after attribution, by its own step)."""
        if self.label_of(cluster) != label or cluster.number < 0:
            self.corrections.append(LabelCorrection(cluster, label, reason))
        return cluster

    def new_entity(self, name: str, mention: Mention, label: str) -> EntityCluster:
        """An entity the model did not tag, named in a speaker slot ("…," said Okafor); the corrections step adds it."""
        known = self._new_names.get(normalize_name(name))
        if known is not None:
            return known
        cluster = EntityCluster(number=-1 - len(self._new_names), mentions=[mention], name=name, label=label,
                                aliases=[name])
        self._new_names[normalize_name(name)] = cluster
        for token in range(mention.first_token, mention.last_token):
            self._new_names[f"@{mention.segment}:{token}"] = cluster
        self.corrections.append(LabelCorrection(cluster, label, "a name in a speaker slot the model did not tag"))
        return cluster


def _is_boundary(token) -> bool:
    return token.text in SENTENCE_END or "\n" in token.text or ("\n" in token.whitespace_ and token.is_space)

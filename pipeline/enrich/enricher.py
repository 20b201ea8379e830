"""The enrichment stage: a batch of Articles in, EnrichedArticles and failures out.

spaCy reads every article's title and body once, in one `nlp.pipe` call per batch; the
rest is cheap Python over the parsed docs, in steps (`STEPS`, each declaring what it reads):
entities (cleaned, merged, labelled), quote marks, attribution (the sieves: speakers of
direct quotes, and indirect quotes), then the entity label corrections attribution proposed.
Entities come from the title and the body, quotes from the body only (their offsets index
the body). Only the first `max_body_chars` characters of a body are enriched, so a runaway
body cannot stall a worker. An article that breaks extraction becomes an `EnrichFailure`
with the reason; the rest of the batch is unaffected.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.article import Article, EnrichedArticle, Entity, Quote
from pipeline.enrich.attribution import Attributor, Finding, Reads, check_sieve_names
from pipeline.enrich.corrections import apply_corrections
from pipeline.enrich.cues import CueLexicon
from pipeline.enrich.entities import EntityCluster, EntityIndex, build_entity_index
from pipeline.enrich.names import PLACE_LABELS, known_places
from pipeline.enrich.nlp import load_pipeline
from pipeline.enrich.quotes import find_quotes
from pipeline.enrich.segments import MAX_BODY_CHARS, Segment, split_article
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["Enricher", "EnrichFailure", "enrich_parsed", "STEPS"]

logger = logging.getLogger(__name__)

# The steps around attribution and what each reads from spaCy; the sieves declare their own
# (`Attributor.reads`). Entities read the model's entities everywhere, tags, and the parse of
# the sentences holding a mention (is it a subject, does an apposition describe it).
STEPS: dict[str, Reads] = {
    "entities": Reads(entities=True, pos=True, parse=frozenset({"mentions"})),
    "quote_marks": Reads(),
    "label_corrections": Reads(),
}


@dataclass
class EnrichFailure:
    """An article enrichment could not handle, and why (one line for the dead-letter record)."""

    article: Article
    reason: str


class Enricher:
    """Adds entities, quotes and speakers to articles with a spaCy pipeline."""

    def __init__(
        self,
        model: str | None = None,
        batch_size: int = 64,
        *,
        max_body_chars: int = MAX_BODY_CHARS,
        sieves: Sequence[str] | None = None,
    ) -> None:
        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.max_body_chars = max_body_chars
        try:
            self.sieves = check_sieve_names(sieves)  # refused before anything loads
        except ValueError as e:
            raise ConfigError(f"nlp.sieves: {e}") from None
        self._nlp: Language | None = None
        self._attributor: Attributor | None = None

    @property
    def nlp(self) -> Language:
        """The loaded spaCy pipeline (loads it on first use)."""
        self.warm_up()
        assert self._nlp is not None
        return self._nlp

    def warm_up(self) -> None:
        """Load the spaCy pipeline once; raises ModelError when it is missing or broken."""
        if self._nlp is None:
            nlp = load_pipeline(self.model)
            self._attributor = Attributor(CueLexicon.from_pipeline(nlp), self.sieves)
            known_places()  # the place names are read once, here rather than in the first batch
            self._nlp = nlp

    @property
    def attributor(self) -> Attributor:
        """The speaker-attribution sieves in their configured order (loads the pipeline on first use)."""
        self.warm_up()
        assert self._attributor is not None
        return self._attributor

    def enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle | EnrichFailure]:
        """Enrich a batch; the result has the same length and order as `articles`."""
        if not articles:
            return []
        nlp = self.nlp
        plans = []
        texts: list[str] = []
        for article in articles:
            body = article.body or ""
            if len(body) > self.max_body_chars:
                logger.info("body truncated for enrichment id=%s chars=%d", article.id, len(body))
                body = body[: self.max_body_chars]
            pieces = split_article(article.title or "", body)
            plans.append([(len(texts) + n, offset) for n, (_, offset) in enumerate(pieces)])
            texts.extend(text for text, _ in pieces)
        docs = self._parse(nlp, texts)

        results: list[EnrichedArticle | EnrichFailure] = []
        for article, plan in zip(articles, plans):
            if any(docs[position] is None for position, _ in plan):
                results.append(EnrichFailure(article, "spaCy could not parse the article text"))
                continue
            segments = [
                Segment(docs[position], offset, number, texts[position])
                for number, (position, offset) in enumerate(plan)
            ]
            try:
                results.append(enrich_parsed(article, segments, self.max_body_chars, self._attributor))
            except Exception as e:  # one bad article must not break the batch
                logger.warning("enrichment failed id=%s error=%s", article.id, e, exc_info=True)
                detail = " ".join(str(e).split())[:300]
                results.append(EnrichFailure(article, f"enrichment failed: {type(e).__name__}: {detail}"))
        return results

    def _parse(self, nlp: Language, texts: list[str]) -> list[Doc | None]:
        try:
            return list(nlp.pipe(texts, batch_size=self.batch_size))
        except Exception:
            logger.warning("batch parse failed, parsing one text at a time texts=%d", len(texts), exc_info=True)
        docs: list[Doc | None] = []
        for text in texts:
            try:
                docs.append(nlp(text))
            except Exception as e:
                logger.warning("parse failed chars=%d error=%s", len(text), e)
                docs.append(None)
        return docs


def _entities(index: EntityIndex) -> list[Entity]:
    return [
        Entity(name=c.name, label=c.label, mentions=len(c.mentions), aliases=c.aliases)
        for c in index.clusters
        if c.mentions and c.name
    ]


def _speaker_label(cluster: EntityCluster | None) -> str | None:
    if cluster is None:
        return None
    if cluster.label == "PERSON" or cluster.label in PLACE_LABELS:
        return cluster.label
    return "ORG"  # an organisation, or a group speaking as one ("Democrats said")


def _quote(body: str, start: int, end: int, kind: str, finding: Finding | None) -> Quote:
    speaker = finding.speaker if finding is not None else None
    return Quote(
        text=body[start:end],
        speaker=speaker.name if speaker is not None else None,
        speaker_label=_speaker_label(speaker),
        start=start,
        end=end,
        kind=kind,
        cue=finding.cue if finding is not None else None,
        attribution=finding.sieve if finding is not None else None,
    )


def enrich_parsed(
    article: Article, segments: list[Segment], max_body_chars: int = MAX_BODY_CHARS, attributor: Attributor | None = None
) -> EnrichedArticle:
    """Build the EnrichedArticle of one article from its parsed segments (of its first `max_body_chars`)."""
    body = (article.body or "")[:max_body_chars]
    index = build_entity_index(segments, body)
    spans = find_quotes(body)
    attributor = attributor or Attributor(CueLexicon.from_rules())
    attribution = attributor.attribute(segments, index, spans, body)
    apply_corrections(index, attribution.corrections)

    quotes = [_quote(body, span.start, span.end, "direct", found) for span, found in zip(spans, attribution.direct)]
    quotes += [_quote(body, q.start, q.end, "indirect", q.finding) for q in attribution.indirect]
    quotes.sort(key=lambda q: (q.start, q.kind))
    entities = _entities(index)
    fields = article.model_dump(include=set(Article.model_fields))
    return EnrichedArticle(
        **fields,
        entities=entities,
        quotes=quotes,
        people=[e.name for e in entities if e.label == "PERSON"],
        organizations=[e.name for e in entities if e.label == "ORG"],
        places=[e.name for e in entities if e.label in PLACE_LABELS],
        speakers=list(dict.fromkeys(q.speaker for q in quotes if q.speaker)),
    )

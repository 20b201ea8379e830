"""The enrichment stage: a batch of Articles in, EnrichedArticles and failures out.

spaCy reads every article's title and body once, in one `nlp.pipe` call per batch; the
rest (quote marks, attribution, entity merging) is cheap Python over the parsed docs.
Entities come from the title and the body, quotes from the body only (their offsets index
the body). Only the first `max_body_chars` characters of a body are enriched, so a runaway
body cannot stall a worker. A speaker that is a place ("Israel said") is labelled ORG, the
government speaking. An article that breaks extraction becomes an `EnrichFailure` with the
reason; the rest of the batch is unaffected.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.article import Article, EnrichedArticle, Entity, Quote
from pipeline.enrich.entities import EntityIndex, build_entity_index
from pipeline.enrich.names import PLACE_LABELS
from pipeline.enrich.nlp import load_pipeline
from pipeline.enrich.quotes import find_quotes
from pipeline.enrich.segments import MAX_BODY_CHARS, Segment, split_article
from pipeline.enrich.speakers import attribute_quotes

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["Enricher", "EnrichFailure", "enrich_parsed"]

logger = logging.getLogger(__name__)


@dataclass
class EnrichFailure:
    """An article enrichment could not handle, and why (one line for the dead-letter record)."""

    article: Article
    reason: str


class Enricher:
    """Adds entities, quotes and speakers to articles with a spaCy pipeline."""

    def __init__(self, model: str | None = None, batch_size: int = 64, *, max_body_chars: int = MAX_BODY_CHARS) -> None:
        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.max_body_chars = max_body_chars
        self._nlp: Language | None = None

    @property
    def nlp(self) -> Language:
        """The loaded spaCy pipeline (loads it on first use)."""
        self.warm_up()
        assert self._nlp is not None
        return self._nlp

    def warm_up(self) -> None:
        """Load the spaCy pipeline once; raises ModelError when it is missing or broken."""
        if self._nlp is None:
            self._nlp = load_pipeline(self.model)

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
                results.append(enrich_parsed(article, segments, self.max_body_chars))
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


def enrich_parsed(article: Article, segments: list[Segment], max_body_chars: int = MAX_BODY_CHARS) -> EnrichedArticle:
    """Build the EnrichedArticle of one article from its parsed segments (of its first `max_body_chars`)."""
    body = (article.body or "")[:max_body_chars]
    index = build_entity_index(segments, body)
    spans = find_quotes(body)
    speakers = attribute_quotes(segments, index, spans, body)

    quotes = []
    for span, speaker in zip(spans, speakers):
        label = None
        if speaker is not None:
            label = "PERSON" if speaker.label == "PERSON" else "ORG"
        quotes.append(
            Quote(
                text=body[span.start:span.end],
                speaker=speaker.name if speaker is not None else None,
                speaker_label=label,
                start=span.start,
                end=span.end,
            )
        )
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

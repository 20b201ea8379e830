"""The enrich step and the index step: a batch in, what passed and the dead letters out.

Both runtimes run these same steps (the embedded one in process, the enrich and sink
workers between Kafka topics), so a failure becomes the same dead letter everywhere:

    enrich_step(enricher, articles, origins) → Passed(enriched, their origins) + dead letters (stage "enrich")
    index_step(index, enriched, origins, stop) → count indexed + dead letters (stage "sink")

The enrich step detects each article's language first (pipeline.stories.language) and runs
the English entities and quotes only on English articles (or where the language is unclear);
another language is indexed without them rather than with wrong ones. The index step runs the
story step around the write (pipeline.runtime.stories): the index is what knows the earlier
copies of a story, in both modes.

An `Origin` says where an article came from: its bytes as they arrived (kept as the dead
letter's payload; None means the article's own JSON) and its position (topic, partition,
offset), which the dead letter and the log line name.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pipeline.article import Article, EnrichedArticle
from pipeline.deadletter import DeadLetter, Stage
from pipeline.enrich import EnrichFailure, Enricher
from pipeline.index import Index
from pipeline.runtime.stories import assign_stories, settle_stories
from pipeline.settings import Settings
from pipeline.stories.language import detect_language

__all__ = ["Origin", "Passed", "make_enricher", "enrich_step", "index_step", "with_language", "ENRICHED_LANGUAGES"]

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=Article)

ENRICHED_LANGUAGES = frozenset({"en"})  # what the spaCy pipeline reads; None (unclear) is read as English too


def make_enricher(settings: Settings) -> Enricher:
    """The configured enrichment stage (model, pipe batch, sieves); cheap until `warm_up()`."""
    return Enricher(settings.nlp.model, settings.nlp.pipe_batch_size, sieves=settings.nlp.sieves)


@dataclass(frozen=True)
class Origin:
    """Where one article of a step came from (see the module docstring)."""

    payload: bytes | None = None
    position: dict[str, Any] = field(default_factory=dict)

    def where(self) -> str:
        """`topic=… partition=… offset=…` for a log line ('' in process)."""
        return " ".join(f"{key}={value}" for key, value in self.position.items())

    def dead_letter(self, stage: Stage, reason: str, article: Article) -> DeadLetter:
        payload = self.payload if self.payload is not None else article.to_json()
        return DeadLetter.of(stage, reason, payload, article_id=article.id, **self.position)


@dataclass
class Passed(Generic[T]):
    """What a step let through, each with its origin, and the dead letters of the rest."""

    articles: list[T] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


def _origins(articles: Sequence[Article], origins: Sequence[Origin] | None) -> Sequence[Origin]:
    return origins if origins is not None else [Origin()] * len(articles)


def with_language(article: Article) -> Article:
    """The article with `language` set to what its text is (ISO 639-1), else to its declared language's code."""
    detected = detect_language(article.title, article.body)
    declared = (article.language or "").strip().lower().replace("_", "-").split("-")[0]
    language = detected or (declared if len(declared) == 2 and declared.isalpha() else None)
    return article if language == article.language else article.model_copy(update={"language": language})


def _enrich(enricher: Enricher, articles: Sequence[Article]) -> list[EnrichedArticle | EnrichFailure]:
    """Enrichment for the languages it reads; any other language passes with no entities and no quotes."""
    results: list[EnrichedArticle | EnrichFailure | None] = [None] * len(articles)
    readable = [p for p, a in enumerate(articles) if a.language is None or a.language in ENRICHED_LANGUAGES]
    for position, result in zip(readable, enricher.enrich([articles[p] for p in readable]) if readable else []):
        results[position] = result
    for position, article in enumerate(articles):
        if results[position] is None:
            logger.debug("not enriched id=%s language=%s", article.id, article.language)
            results[position] = EnrichedArticle(**article.model_dump(include=set(Article.model_fields)))
    return results  # type: ignore[return-value]


def enrich_step(enricher: Enricher, articles: Sequence[Article], origins: Sequence[Origin] | None = None) -> Passed[EnrichedArticle]:
    """Enrich a batch; an article enrichment cannot handle becomes a dead letter with the reason."""
    passed: Passed[EnrichedArticle] = Passed()
    articles = [with_language(article) for article in articles]
    for origin, result in zip(_origins(articles, origins), _enrich(enricher, articles)):
        if isinstance(result, EnrichFailure):
            logger.warning("enrichment failed id=%s %s reason=%s", result.article.id, origin.where(), result.reason)
            passed.dead.append(origin.dead_letter("enrich", result.reason, result.article))
        else:
            passed.articles.append(result)
            passed.origins.append(origin)
    return passed


def index_step(
    index: Index,
    articles: Sequence[EnrichedArticle],
    origins: Sequence[Origin] | None = None,
    stop: threading.Event | None = None,
) -> tuple[int, list[DeadLetter]]:
    """Index a batch with its stories; returns how many are safe (indexed, stale or joined) and dead letters
    for what the index refused.

    Raises ServiceUnavailable (from the index) when the batch is not safe yet: commit nothing.
    A re-delivered batch redoes the story step too: every part of it is idempotent.
    """
    if not articles:
        return 0, []
    batch = assign_stories(index, articles)
    results = index.write(batch.articles, stop=stop, marks=batch.marks)
    settle_stories(index, batch, results)
    safe, dead = 0, []
    for article, origin, result in zip(batch.articles, _origins(articles, origins), results):
        if result.ok:
            safe += 1
            continue
        logger.warning("not indexable id=%s %s reason=%s", result.article_id, origin.where(), result.reason)
        dead.append(origin.dead_letter("sink", result.reason or "rejected", article))
    return safe, dead

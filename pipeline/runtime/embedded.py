"""The embedded runtime: connectors → enrichment → the on-disk index, in one process, no services.

Each batch is enriched, indexed in one SQLite transaction, its dead letters written,
and only then is the connector's checkpoint committed: a crash anywhere re-reads
the batch, and the stable ids make the re-run overwrite instead of duplicate.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from pipeline.article import Article, EnrichedArticle
from pipeline.deadletter import DeadLetter, DeadLetterFile
from pipeline.enrich import EnrichFailure, Enricher
from pipeline.index.embedded import EmbeddedIndex
from pipeline.runtime.sources import Batch, Schedule, open_connectors, read_batches
from pipeline.settings import Settings

__all__ = ["EmbeddedRuntime", "RunReport", "index_path", "deadletter_path"]

logger = logging.getLogger(__name__)


def index_path(settings: Settings):
    return settings.data_dir / "index.sqlite"


def deadletter_path(settings: Settings):
    return settings.data_dir / "deadletter.jsonl"


@dataclass
class RunReport:
    """What a run did, for the closing line and for tests."""

    read: int = 0
    indexed: int = 0
    dead: int = 0

    def add(self, other: "RunReport") -> None:
        self.read += other.read
        self.indexed += other.indexed
        self.dead += other.dead


class EmbeddedRuntime:
    """Runs the configured connectors through enrichment into the embedded index."""

    def __init__(self, settings: Settings, enricher: Enricher | None = None, progress=None) -> None:
        self.settings = settings
        self.enricher = enricher or Enricher(settings.nlp.model, settings.nlp.pipe_batch_size, sieves=settings.nlp.sieves)
        self.index = EmbeddedIndex(index_path(settings))
        self.deadletters = DeadLetterFile(deadletter_path(settings))
        self.progress = progress

    def enrich_and_index(self, articles: list[Article], dead: list[DeadLetter]) -> RunReport:
        """Enrich a batch, index what worked, keep what failed; returns the counts."""
        enriched: list[EnrichedArticle] = []
        dead = list(dead)
        if articles:
            for result in self.enricher.enrich(articles):
                if isinstance(result, EnrichFailure):
                    logger.warning("enrichment failed id=%s reason=%s", result.article.id, result.reason)
                    dead.append(
                        DeadLetter.of("enrich", result.reason, result.article.to_json(), article_id=result.article.id)
                    )
                else:
                    enriched.append(result)
        self.index.write(enriched)
        self.deadletters.append(dead)
        return RunReport(read=len(articles), indexed=len(enriched), dead=len(dead))

    def process(self, batch: Batch) -> RunReport:
        report = self.enrich_and_index(batch.articles, batch.dead)
        batch.connector.commit()
        if self.progress is not None:
            self.progress(batch.connector, report)
        return report

    def run(self, *, once: bool, stop: threading.Event | None = None) -> RunReport:
        """Read every connector (once, or forever until `stop`), batch by batch."""
        stop = stop or threading.Event()
        connectors = open_connectors(self.settings)
        self.enricher.warm_up()
        total = RunReport()
        schedule = Schedule(connectors)
        try:
            with self.index:
                while not stop.is_set():
                    for connector in schedule.due():
                        for batch in read_batches(connector, self.settings.nlp.batch_size):
                            total.add(self.process(batch))
                            if stop.is_set():
                                break
                        schedule.done(connector)
                        if stop.is_set():
                            break
                    if once:
                        break
                    schedule.wait(stop)
        finally:
            for connector in connectors:
                connector.close()
        logger.info("run finished read=%d indexed=%d dead=%d", total.read, total.indexed, total.dead)
        return total

"""The embedded runtime: connectors → enrichment → the index, in one process, no Kafka.

It runs the fleet (pipeline.runtime.fleet: every configured connector and every feed of the
feed store, read concurrently and politely, states on disk) with an output that enriches a
batch (the enrich step), indexes it (the index step) into the configured index (the
embedded SQLite one unless Elasticsearch is configured), appends its dead letters to
`data_dir/deadletter.jsonl`, and only then lets the loop commit the batch's checkpoint
changes: a crash anywhere re-reads the batch, and the stable ids make the re-run
overwrite instead of duplicate.

A run holds the data_dir lock (pipeline.runtime.lock): a second run on the same data_dir
stops at once and says who holds it. What a batch indexes resolves the dead letters it made
obsolete (the article's earlier failures; its connector's earlier source failures) before
the batch's own letters are kept.
"""

from __future__ import annotations

import logging
import threading

from pipeline.enrich import Enricher
from pipeline.runtime.deadletters import DeadLetterFile, deadletter_path
from pipeline.runtime.indexes import open_index
from pipeline.runtime.fleet import Fleet
from pipeline.runtime.lock import DataDirLock
from pipeline.runtime.loop import Batch, Progress, RunReport
from pipeline.runtime.metrics import serve_metrics
from pipeline.runtime.sources import LocalSources
from pipeline.runtime.steps import enrich_step, index_step, make_enricher
from pipeline.settings import Settings

__all__ = ["EmbeddedRuntime"]

logger = logging.getLogger(__name__)


class EmbeddedRuntime:
    """Runs the configured connectors through enrichment into the index, in this process."""

    def __init__(self, settings: Settings, enricher: Enricher | None = None, progress: Progress | None = None) -> None:
        self.settings = settings
        self.enricher = enricher or make_enricher(settings)
        self.index = open_index(settings)
        self.deadletters = DeadLetterFile(deadletter_path(settings))
        self.progress = progress
        self.stop = threading.Event()

    def deliver(self, batch: Batch) -> RunReport:
        """Enrich and index one batch, keep what failed; returns the counts (the loop commits afterwards)."""
        enriched = enrich_step(self.enricher, batch.articles)
        indexed, refused = index_step(self.index, enriched.articles, stop=self.stop)
        dead = batch.dead + enriched.dead + refused
        safe = {article.id for article in enriched.articles} - {letter.article_id for letter in refused}
        connector = batch.connector
        self.deadletters.resolve(safe, [(connector.type, connector.name)] if safe else [])
        self.deadletters.append(dead)
        return RunReport(read=len(batch.articles), indexed=indexed, dead=len(dead))

    def run(self, *, once: bool, stop: threading.Event | None = None) -> RunReport:
        """Read every member of the fleet (once, or forever until `stop`), batch by batch."""
        self.stop = stop or threading.Event()
        with DataDirLock(self.settings.data_dir, "newswire run"):
            return self._run(once)

    def _run(self, once: bool) -> RunReport:
        members = LocalSources(self.settings)
        serve_metrics(self.settings.metrics.port)  # the fleet's gauges, when a port is configured
        self.enricher.warm_up()
        with self.index:
            self.index.setup()
            fleet = Fleet(members, self.deliver, self.settings, once=once, stop=self.stop, progress=self.progress)
            total = fleet.run()
            self.index.refresh()
        logger.info("run finished read=%d indexed=%d dead=%d", total.read, total.indexed, total.dead)
        return total

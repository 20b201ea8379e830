"""Runtimes wire the same stages together: in one process (embedded) or through Kafka (distributed).

    loop.py         the stage loop both share: connectors → batches → output → commit
    steps.py        the enrich step and the index step, with their dead letters
    indexes.py      the one place that picks the index (Elasticsearch or embedded)
    deadletters.py  dead letters in both modes: the file or the topic, list and replay
    embedded.py     the embedded runtime (enrich_pool.py: its enrichment on every core) ·
                    workers.py + distributed.py + bus.py the Kafka one
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.runtime.loop import Progress, RunReport
    from pipeline.settings import Settings

__all__ = ["run_pipeline"]


def run_pipeline(settings: Settings, *, once: bool, stop: threading.Event, progress: Progress | None = None) -> RunReport:
    """`newswire run`: all three roles through Kafka when it is configured, else the embedded runtime."""
    if settings.distributed:
        from pipeline.runtime.distributed import run_all

        return run_all(settings, once=once, stop=stop)
    from pipeline.runtime.embedded import EmbeddedRuntime

    return EmbeddedRuntime(settings, progress=progress).run(once=once, stop=stop)

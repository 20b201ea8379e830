"""Running connectors: build them from settings, read them in batches, schedule their next read.

Used by every runtime. A connector that fails (unreachable feed, bad path) costs one
log line and one dead letter; the other connectors go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from connectors import Checkpoint, Connector, ConnectorContext, MemoryCheckpoint, build_connector
from pipeline.article import Article
from pipeline.deadletter import DeadLetter
from pipeline.errors import ConfigError, SourceError
from pipeline.settings import Settings

__all__ = ["Batch", "open_connectors", "read_batches", "Schedule"]

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    """What one connector read: articles to pass on and dead letters to keep."""

    connector: Connector
    articles: list[Article] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.articles) + len(self.dead)


def open_connectors(settings: Settings, *, stateless: bool = False) -> list[Connector]:
    """Build and set up every configured connector; a bad config block is a ConfigError naming it."""
    names = [block.name for block in settings.connectors]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ConfigError(f"connector names must be unique; repeated: {', '.join(sorted(duplicates))}")
    connectors = []
    for block in settings.connectors:
        checkpoint = (
            MemoryCheckpoint() if stateless else Checkpoint.for_connector(settings.data_dir, block.type, block.name)
        )
        context = ConnectorContext(data_dir=settings.data_dir, limits=settings.limits, checkpoint=checkpoint)
        connector = build_connector(block.type, block.name, block.options(), context)
        connector.setup()
        connectors.append(connector)
    return connectors


def read_batches(connector: Connector, size: int) -> Iterator[Batch]:
    """The connector's new records in batches of at most `size`; a source failure ends as a dead letter."""
    batch = Batch(connector)
    try:
        for record in connector.read():
            if isinstance(record, DeadLetter):
                batch.dead.append(record)
            else:
                batch.articles.append(record)
            if len(batch) >= size:
                yield batch
                batch = Batch(connector)
    except SourceError as e:
        logger.error("source failed connector=%s type=%s error=%s", connector.name, connector.type, e)
        batch.dead.append(DeadLetter.of("connector", str(e), connector=connector.type, name=connector.name))
    if len(batch):
        yield batch


class Schedule:
    """When each connector is next due; a stop event wakes the wait at once."""

    def __init__(self, connectors: list[Connector]) -> None:
        self._due = {id(c): 0.0 for c in connectors}
        self._connectors = connectors

    def due(self) -> list[Connector]:
        now = time.monotonic()
        return [c for c in self._connectors if self._due[id(c)] <= now]

    def done(self, connector: Connector) -> None:
        self._due[id(connector)] = time.monotonic() + max(1.0, float(connector.interval))

    def wait(self, stop: threading.Event) -> None:
        if not self._connectors:
            stop.wait(60.0)
            return
        delay = min(self._due.values()) - time.monotonic()
        if delay > 0:
            stop.wait(delay)

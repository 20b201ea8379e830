"""The stage loop both runtimes share: read connectors → batches → output → commit.

    every due connector:  read() ──Records──▶ batches of nlp.batch_size
                          batch ──output(batch)──▶ safe? ──▶ commit the batch's checkpoint changes
    then wait until the next connector is due (or stop), unless `once`.

`output` is the runtime's: the embedded one enriches and indexes, the connectors worker
produces to Kafka and waits for the acknowledgements. Only after it returns are the
checkpoint changes the batch carried committed. An output that is not safe yet
(ServiceUnavailable) ends that connector's read; it reads the same records next time.
A connector that fails (unreachable feed, bad path) costs one log line and one dead
letter; the other connectors go on. An article with no title and no body (a feed entry
recovered from a broken document) is a dead letter, not an empty document. So does one that raises anything else (a bug, an input
nobody foresaw) or yields something that is not a record: its read ends there, the
connectors after it are read, and a continuous run carries on. The reason is one line
with the connector's secrets and any URL credentials masked.

In a continuous run, an output that fails (the index, the disk) or a commit that cannot be
written ends that connector's read without a commit, as an unsafe output does: one line, and
the same records next time. `--once` raises instead, and the command says it in one line.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.article import Article
from pipeline.checkpoint import Checkpoint, CheckpointFiles, Record, checkpoint_key
from pipeline.deadletter import DeadLetter
from pydantic import BaseModel, SecretStr

from pipeline.errors import ConfigError, NewswireError, ServiceUnavailable, SourceError
from pipeline.plugin.connector import MAX_INTERVAL, Connector, ConnectorContext, as_record
from pipeline.plugin.registry import build_connector
from pipeline.settings import Settings

__all__ = [
    "RunReport", "Batch", "open_connectors", "read_batches", "Schedule", "run_connectors", "Output", "Progress",
    "failure_reason",
]

logger = logging.getLogger(__name__)


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


@dataclass
class Batch:
    """What one connector read: articles to pass on, dead letters to keep, and the checkpoint changes they carry."""

    connector: Connector
    articles: list[Article] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    changes: list[Mapping[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.articles) + len(self.dead)

    def commit(self) -> None:
        """The batch's output is safe: make its checkpoint changes durable, in order."""
        self.connector.context.checkpoint.commit(self.changes)


Output = Callable[[Batch], RunReport]
"""Delivers a batch (enrich and index it, or produce it); raises ServiceUnavailable when not safe yet."""

Progress = Callable[[Connector, RunReport], None]


def open_connectors(settings: Settings) -> list[Connector]:
    """Build and set up every configured connector, each on its checkpoint file; a bad block is a ConfigError naming it."""
    names = [block.name for block in settings.connectors]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ConfigError(f"connector names must be unique; repeated: {', '.join(sorted(duplicates))}")
    store = CheckpointFiles(settings.data_dir)
    connectors = []
    for block in settings.connectors:
        checkpoint = Checkpoint(store, checkpoint_key(block.type, block.name))
        context = ConnectorContext(data_dir=settings.data_dir, limits=settings.limits, checkpoint=checkpoint)
        connector = build_connector(block.type, block.name, block.options(), context)
        try:
            connector.setup()
        except NewswireError:
            raise
        except Exception as e:  # a plugin's setup that fails unexpectedly: its config cannot work as given
            raise ConfigError(f"connector '{block.name}' ({block.type}) cannot start: {failure_reason(connector, e)}") from None
        connectors.append(connector)
    return connectors


_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def _secrets(options: object) -> list[str]:
    """Every secret value in a connector's options (SecretStr fields, nested models included)."""
    found = []
    for value in (options.__dict__.values() if isinstance(options, BaseModel) else []):
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found += _secrets(value)
    return found


def failure_reason(connector: Connector, error: BaseException) -> str:
    """`Type: message` on one line, without the connector's secrets or any user:password@ in a URL."""
    text = " ".join(str(error).split())[:500]
    for secret in _secrets(connector.options):
        text = text.replace(secret, "***")
    text = _CREDENTIALS.sub("***@", text)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def read_batches(connector: Connector, size: int) -> Iterator[Batch]:
    """The connector's new records in batches of at most `size`; a source failure ends as a dead letter.

    The last batch may hold only checkpoint changes (a feed's validators): it has nothing to
    deliver, and is committed all the same.
    """
    batch = Batch(connector)
    try:
        for yielded in connector.read():
            record = as_record(yielded)
            if not isinstance(record.value, (Article, DeadLetter, type(None))) or not isinstance(record.checkpoint, Mapping):
                raise TypeError(f"read() yielded a {type(record.value).__name__}, not an Article, DeadLetter or Record")
            if isinstance(record.value, Article) and record.value.empty:
                record = Record(_empty(connector, record.value), record.checkpoint)
            if isinstance(record.value, DeadLetter):
                batch.dead.append(record.value)
            elif record.value is not None:
                batch.articles.append(record.value)
            if record.checkpoint:
                batch.changes.append(record.checkpoint)
            if len(batch) >= size:
                yield batch
                batch = Batch(connector)
    except SourceError as e:
        logger.error("source failed connector=%s type=%s error=%s", connector.name, connector.type, e)
        batch.dead.append(DeadLetter.of("connector", str(e), connector=connector.type, name=connector.name))
    except Exception as e:  # a bug or an input nobody foresaw: this read ends here, the other connectors go on
        why = failure_reason(connector, e)
        logger.error("connector failed connector=%s type=%s error=%s", connector.name, connector.type, why)
        logger.debug("connector failure connector=%s", connector.name, exc_info=True)
        batch.dead.append(DeadLetter.of("connector", f"connector failed: {why}", connector=connector.type, name=connector.name))
    if len(batch) or batch.changes:
        yield batch


def _interval(connector: Connector) -> float:
    """The connector's interval, between 1 s and MAX_INTERVAL whatever it says (NaN, infinite, or a failing property)."""
    try:
        interval = float(connector.interval)
    except Exception as e:
        logger.error("connector interval failed connector=%s error=%s", connector.name, failure_reason(connector, e))
        return 60.0
    return 60.0 if math.isnan(interval) else min(max(1.0, interval), MAX_INTERVAL)


def _empty(connector: Connector, article: Article) -> DeadLetter:
    """An article with no title and no body is not indexed empty: it is a dead letter."""
    logger.warning("empty article connector=%s id=%s", connector.name, article.id)
    return DeadLetter.of("connector", "no title and no body", article.to_json(), article_id=article.id,
                         connector=connector.type, name=connector.name)


class Schedule:
    """When each connector is next due; a stop event wakes the wait at once."""

    def __init__(self, connectors: list[Connector]) -> None:
        self._due = {id(c): 0.0 for c in connectors}
        self._connectors = connectors

    def due(self) -> list[Connector]:
        now = time.monotonic()
        return [c for c in self._connectors if self._due[id(c)] <= now]

    def done(self, connector: Connector) -> None:
        self._due[id(connector)] = time.monotonic() + _interval(connector)

    def wait(self, stop: threading.Event) -> None:
        if not self._connectors:
            stop.wait(60.0)
            return
        delay = min(self._due.values()) - time.monotonic()
        if delay > 0:
            stop.wait(delay)


def _read_one(connector: Connector, output: Output, batch_size: int, once: bool, stop: threading.Event,
              progress: Progress | None) -> RunReport:
    report = RunReport()
    for batch in read_batches(connector, batch_size):
        try:
            if len(batch):
                done = output(batch)
                report.add(done)
                if progress is not None:
                    progress(connector, done)
            batch.commit()
        except ServiceUnavailable as e:
            if once:
                raise
            logger.error("batch not delivered connector=%s error=%s (read again next time)", connector.name, e)
            break
        except Exception as e:  # not in a continuous run: this batch is read again next time, the others go on
            if once:
                raise
            logger.error("batch failed connector=%s error=%s: %s (read again next time)", connector.name, type(e).__name__, e)
            logger.debug("batch failure connector=%s", connector.name, exc_info=True)
            break
        if stop.is_set():
            break
    return report


def run_connectors(
    connectors: list[Connector],
    output: Output,
    *,
    batch_size: int,
    once: bool,
    stop: threading.Event,
    progress: Progress | None = None,
) -> RunReport:
    """Read every due connector batch by batch through `output`, committing each batch once it is safe.

    `once` reads each connector one time and returns; otherwise the loop runs until `stop`.
    """
    total = RunReport()
    schedule = Schedule(connectors)
    while not stop.is_set():
        for connector in schedule.due():
            total.add(_read_one(connector, output, batch_size, once, stop, progress))
            schedule.done(connector)
            if stop.is_set():
                break
        if once:
            break
        schedule.wait(stop)
    return total

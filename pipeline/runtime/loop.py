"""The stage loop both runtimes share: read members → batches → output → commit.

    every due member:  read() ──Records──▶ batches of nlp.batch_size
                       batch ──output(batch)──▶ safe? ──▶ commit the batch's checkpoint changes
    members are read concurrently and politely by the fleet (pipeline.runtime.fleet), each
    rescheduled by what it found; `once` reads each one time and returns.

`output` is the runtime's: the embedded one enriches and indexes, the connectors worker
produces to Kafka and waits for the acknowledgements. Only after it returns are the
checkpoint changes the batch carried committed. An output that is not safe yet
(ServiceUnavailable) ends that member's read; it reads the same records next time.
A member that fails (unreachable feed, bad path) costs one log line and one dead
letter; the other members go on. So does one that raises anything else (a bug, an input
nobody foresaw) or yields something that is not a record: its read ends there, the
other members are read, and a continuous run carries on. The reason is one line with the
connector's secrets and any URL credentials masked. An article with no title and no body
(a feed entry recovered from a broken document) is a dead letter, not an empty document.

In a continuous run, an output that fails (the index, the disk) or a commit that cannot be
written ends that member's read without a commit, as an unsafe output does: one line, and
the same records next time. `--once` raises instead, and the command says it in one line.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, SecretStr

from pipeline.article import Article
from pipeline.checkpoint import Checkpoint, Record, checkpoint_key
from pipeline.deadletter import DeadLetter
from pipeline.errors import SourceError
from pipeline.plugin.connector import MAX_INTERVAL, Connector, as_record

__all__ = [
    "RunReport", "Batch", "read_batches", "run_connectors", "Output", "Progress", "failure_reason", "connector_interval",
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
    error: BaseException | None = None  # the read ended with this failure (a dead letter says so)
    parts: list["Batch"] = field(default_factory=list)  # a merged batch: the members' batches it holds

    def __len__(self) -> int:
        return len(self.articles) + len(self.dead)

    @classmethod
    def merge(cls, batches: list["Batch"]) -> "Batch":
        """One batch to deliver for several members' batches; committing it commits each of them, in order."""
        if len(batches) == 1:
            return batches[0]
        merged = cls(batches[0].connector, parts=list(batches))
        for batch in batches:
            merged.articles += batch.articles
            merged.dead += batch.dead
        return merged

    def commit(self) -> None:
        """The batch's output is safe: make its checkpoint changes durable, in order."""
        if self.parts:
            for part in self.parts:
                part.commit()
            return
        self.connector.context.checkpoint.commit(self.changes)


Output = Callable[[Batch], RunReport]
"""Delivers a batch (enrich and index it, or produce it); raises ServiceUnavailable when not safe yet."""

Progress = Callable[[Connector, RunReport], None]


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
        batch.error = e
    except Exception as e:  # a bug or an input nobody foresaw: this read ends here, the other members go on
        why = failure_reason(connector, e)
        logger.error("connector failed connector=%s type=%s error=%s", connector.name, connector.type, why)
        logger.debug("connector failure connector=%s", connector.name, exc_info=True)
        batch.dead.append(DeadLetter.of("connector", f"connector failed: {why}", connector=connector.type, name=connector.name))
        batch.error = e
    if len(batch) or batch.changes:
        yield batch


def connector_interval(connector: Connector) -> float:
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


def run_connectors(
    connectors: list[Connector],
    output: Output,
    *,
    batch_size: int,
    once: bool,
    stop: threading.Event,
    progress: Progress | None = None,
    settings=None,
) -> RunReport:
    """Read `connectors` as a fleet through `output` (their schedules kept in memory), committing each batch once safe.

    `once` reads each connector one time and returns; otherwise the loop runs until `stop`.
    """
    from pipeline.runtime.fleet import Fleet
    from pipeline.runtime.sources import Source, StaticSources
    from pipeline.settings import Settings

    sources = [Source(connector.context.checkpoint.key or checkpoint_key(connector.type, connector.name), connector,
                      Checkpoint(), connector.host or connector.name) for connector in connectors]
    fleet = Fleet(StaticSources(sources), output, settings or Settings(), once=once, stop=stop, progress=progress,
                  batch_size=batch_size)
    return fleet.run()

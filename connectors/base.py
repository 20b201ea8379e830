"""The base class every connector extends.

A connector turns one configured source into Articles. Its `__init__` is cheap;
`setup()` validates and opens; `read()` yields Articles (and DeadLetters for what it
could not turn into one) and stages its checkpoint as it goes; the runtime calls
`commit()` once what was read is safe downstream, so a restart neither loses nor
repeats work.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from connectors.checkpoint import MemoryCheckpoint
from pipeline.article import Article
from pipeline.deadletter import DeadLetter
from pipeline.settings import LimitSettings

__all__ = ["Connector", "ConnectorContext", "ConnectorOptions", "Record"]

Record = Article | DeadLetter

logger = logging.getLogger(__name__)


class ConnectorOptions(BaseModel):
    """A connector's own config block (beyond `type` and `name`); unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    interval: float = 300.0


@dataclass
class ConnectorContext:
    """What the runtime hands every connector: where state lives, the limits, the checkpoint."""

    data_dir: Path
    limits: LimitSettings = field(default_factory=LimitSettings)
    checkpoint: MemoryCheckpoint = field(default_factory=MemoryCheckpoint)


class Connector(ABC):
    """One source of articles, registered under `type` (see connectors.registry)."""

    type: ClassVar[str]
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions

    def __init__(self, name: str, options: ConnectorOptions, context: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.context = context

    @classmethod
    def options_for_source(cls, source: str) -> dict | None:
        """Options that make this connector read `source` (for `newswire fetch`), or None if it can't."""
        return None

    @property
    def checkpoint(self) -> MemoryCheckpoint:
        return self.context.checkpoint

    @property
    def interval(self) -> float:
        """Seconds between two reads when running continuously."""
        return self.options.interval

    def setup(self) -> None:
        """Validate the options against the world (paths exist, URLs are well-formed)."""

    @abstractmethod
    def read(self) -> Iterator[Record]:
        """Yield new Articles, and DeadLetters for what could not become one; stage the checkpoint."""

    def commit(self) -> None:
        """Make the checkpoint durable: everything yielded so far is safe downstream."""
        self.checkpoint.commit()

    def close(self) -> None:
        """Release what `setup()` opened."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}:{self.name}>"

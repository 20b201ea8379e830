"""The base class every connector extends.

A connector turns one configured source into Articles. Its `__init__` is cheap;
`setup()` validates and opens; `read()` yields what is new as `Record`s (an Article or a
DeadLetter, with the checkpoint change that delivering it makes true), or bare Articles and
DeadLetters when delivering them changes no state. The connector reads its committed state
through `self.checkpoint` and never writes it: the runtime commits the changes of what
it delivered, so a restart neither loses nor repeats work.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pipeline.article import Article
from pipeline.checkpoint import Checkpoint, Record
from pipeline.deadletter import DeadLetter
from pipeline.settings import LimitSettings

__all__ = ["Connector", "ConnectorContext", "ConnectorOptions", "Yielded", "as_record", "MAX_INTERVAL"]

MAX_INTERVAL = 7 * 24 * 3600.0
"""The longest wait between two reads of a connector (a week): intervals are finite and bounded."""

Yielded = Record | Article | DeadLetter
"""What `read()` may yield."""

logger = logging.getLogger(__name__)


class ConnectorOptions(BaseModel):
    """A connector's own config block (beyond `type` and `name`); unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    interval: float = Field(default=300.0, gt=0, le=MAX_INTERVAL, allow_inf_nan=False)


@dataclass
class ConnectorContext:
    """What the runtime hands every connector: where state lives, the limits, its committed checkpoint."""

    data_dir: Path
    limits: LimitSettings = field(default_factory=LimitSettings)
    checkpoint: Checkpoint = field(default_factory=Checkpoint)


class Connector(ABC):
    """One source of articles, found by its `type` name through the `newswire.connectors` entry points."""

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
    def checkpoint(self) -> Mapping[str, Any]:
        """The committed state, read-only and live: copy a value before changing it."""
        return self.context.checkpoint.view

    @property
    def interval(self) -> float:
        """Seconds between two reads when running continuously."""
        return self.options.interval

    def setup(self) -> None:
        """Validate the options against the world (paths exist, URLs are well-formed)."""

    @abstractmethod
    def read(self) -> Iterator[Yielded]:
        """Yield what is new: Records carrying their checkpoint change (or bare Articles and DeadLetters)."""

    def close(self) -> None:
        """Release what `setup()` opened."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type}:{self.name}>"


def as_record(yielded: Yielded) -> Record:
    """A Record for anything `read()` yields."""
    return yielded if isinstance(yielded, Record) else Record(yielded)

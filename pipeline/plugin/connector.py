"""The base class every connector extends.

A connector turns one configured source into Articles. Its `__init__` is cheap;
`setup()` validates and opens; `read()` yields what is new as `Record`s (an Article or a
DeadLetter, with the checkpoint change that delivering it makes true), or bare Articles and
DeadLetters when delivering them changes no state. The connector reads its committed state
through `self.checkpoint` and never writes it: the runtime commits the changes of what
it delivered, so a restart neither loses nor repeats work.

The runtime schedules every connector as one member of a fleet (pipeline.runtime.fleet):
`host` says which host name it reads from (politeness, and which worker owns it), and a
connector that sets `adaptive = True` has its poll interval adapted to how much is new,
using what its last read put in `poll_report` (entries listed, not modified, the source's
own minimum interval) unless the config sets `interval`, which pins it.
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

__all__ = ["Connector", "ConnectorContext", "ConnectorOptions", "PollReport", "Yielded", "as_record", "MAX_INTERVAL"]

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
class PollReport:
    """What one read learned about its source, for the fleet's scheduler.

    `listed`: entries the source lists now (None: unknown). `not_modified`: a 304, or the same
    body as last time. `requested_interval`: the least seconds between polls the source asks
    for itself (a feed's `<ttl>` or `sy:updatePeriod`, `Cache-Control: max-age`): a lower bound.
    """

    listed: int | None = None
    not_modified: bool = False
    requested_interval: float | None = None


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
    adaptive: ClassVar[bool] = False
    """True: the fleet adapts the poll interval to how much is new (unless `interval` is configured)."""

    def __init__(self, name: str, options: ConnectorOptions, context: ConnectorContext) -> None:
        self.name = name
        self.options = options
        self.context = context
        self.poll_report: PollReport | None = None

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
        """Seconds between two reads when running continuously (for an adaptive connector: when pinned)."""
        return self.options.interval

    @property
    def pinned(self) -> bool:
        """True when the config sets `interval` itself: the fleet then keeps it as it is."""
        return "interval" in self.options.model_fields_set

    @property
    def host(self) -> str | None:
        """The host name this connector reads from, or None when it reads no network source."""
        return None

    def prefetch(self) -> Any:
        """Start the network request the next `read()` begins with, and return it (a `Prefetch`), or None.

        The fleet calls it when the connector is due and runs `read()` on a thread only once the
        answer is in, so a slow source waits on the I/O loop, not on a thread. `read()` must then
        use the prefetched answer. The default starts nothing.
        """
        return None

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

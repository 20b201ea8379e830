"""The feed store: the fleet's list of feeds, changed by `newswire feeds add|remove|import` while it runs.

A fleet is a `{type: feeds, name: NAME, ...}` block in the config: its own `urls`, the options
every feed of it gets (`fetch_full_text`, `host_delay`, ...; any option of its `connector`,
`rss` by default), and every feed the store holds for NAME. A feed's key is stable —
`<fleet>/<host>-<hash of the URL>` — and names its checkpoint, its schedule and, on Kafka, its
record in the compacted feed list and the partition that decides which worker polls it.

    FeedSpec   one feed: fleet, url, title, its own options
    FeedFile   the embedded store: `data_dir/feeds.json`, replaced atomically under a lock, so a
               running `newswire run` sees a change at its next look (it checks the file's stamp)

The distributed store is the `topics.feeds` topic (pipeline.runtime.ownership); both offer
`load()`, `add(specs)` and `remove(keys)`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError, SourceRejected
from pipeline.plugin.http import check_url, host_of, redact

__all__ = ["FeedSpec", "FleetOptions", "FeedStore", "FeedFile", "feed_key", "FLEET_TYPE", "DEFAULT_FLEET"]

logger = logging.getLogger(__name__)

FLEET_TYPE = "feeds"
DEFAULT_FLEET = "feeds"


def feed_key(fleet: str, url: str) -> str:
    """The stable key of a feed of a fleet: `<fleet>/<host>-<first 10 hex of sha1(url)>`."""
    identity = redact(url).strip()
    digest = hashlib.sha1(identity.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{fleet}/{host_of(identity) or 'feed'}-{digest}"


class FeedSpec(BaseModel):
    """One feed of a fleet (a record of the feed store)."""

    model_config = ConfigDict(extra="forbid")

    fleet: str = Field(default=DEFAULT_FLEET, min_length=1)
    url: str
    title: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _usable(cls, url: str) -> str:
        try:
            return check_url(url)
        except SourceRejected as e:
            raise ValueError(str(e)) from None

    @property
    def key(self) -> str:
        return feed_key(self.fleet, self.url)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), ensure_ascii=False, sort_keys=True)


class FleetOptions(BaseModel):
    """A `{type: feeds}` block: the connector its feeds use, feeds listed in the config, and their shared options."""

    model_config = ConfigDict(extra="allow")

    connector: str = "rss"
    urls: list[str | dict[str, Any]] = Field(default_factory=list)

    @property
    def defaults(self) -> dict[str, Any]:
        """What every feed of the fleet gets (each feed's own options win)."""
        return dict(self.model_extra or {})

    def listed(self, fleet: str) -> list[FeedSpec]:
        """The feeds the block lists itself, as specs."""
        specs = []
        for entry in self.urls:
            fields = {"url": entry} if isinstance(entry, str) else dict(entry)
            url = fields.pop("url", None)
            try:
                specs.append(FeedSpec(fleet=fleet, url=url, options=fields))
            except ValidationError as e:
                raise ConfigError(f"connector '{fleet}' (feeds): {e.errors()[0]['msg']}") from None
        return specs


class FeedStore(Protocol):
    """Where a fleet's feeds are kept: on disk (embedded) or in the compacted feed topic (distributed)."""

    def load(self) -> dict[str, FeedSpec]: ...

    def add(self, specs: Iterable[FeedSpec]) -> list[FeedSpec]: ...

    def remove(self, keys: Iterable[str]) -> list[FeedSpec]: ...


class FeedFile:
    """The embedded feed store: `data_dir/feeds.json`, one JSON document, replaced atomically under a lock."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "feeds.json"

    def stamp(self) -> tuple[int, int] | None:
        """(modification time, size), or None when there is no store yet: a cheap way to see a change."""
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def load(self) -> dict[str, FeedSpec]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise ConfigError(f"feed store {self.path} is unreadable: {e}") from None
        specs: dict[str, FeedSpec] = {}
        for entry in document.get("feeds", []) if isinstance(document, dict) else []:
            try:
                spec = FeedSpec.model_validate(entry)
            except ValidationError as e:
                logger.warning("skipped a feed of the store path=%s reason=%s", self.path, e.errors()[0]["msg"])
                continue
            specs[spec.key] = spec
        return specs

    @contextmanager
    def _locked(self) -> Iterator[dict[str, FeedSpec]]:
        """The store's feeds, to change in place; written back atomically when the block ends."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            feeds = self.load()
            before = dict(feeds)
            yield feeds
            if feeds != before:
                self._write(feeds)

    def _write(self, feeds: Mapping[str, FeedSpec]) -> None:
        document = {"feeds": [feeds[key].model_dump() for key in sorted(feeds)]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, specs: Iterable[FeedSpec]) -> list[FeedSpec]:
        """Add the feeds not there yet; returns those added."""
        added = []
        with self._locked() as feeds:
            for spec in specs:
                if spec.key not in feeds:
                    feeds[spec.key] = spec
                    added.append(spec)
        return added

    def remove(self, keys: Iterable[str]) -> list[FeedSpec]:
        """Remove feeds by key; returns those removed."""
        removed = []
        with self._locked() as feeds:
            for key in keys:
                spec = feeds.pop(key, None)
                if spec is not None:
                    removed.append(spec)
        return removed

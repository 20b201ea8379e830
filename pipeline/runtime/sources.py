"""The members of the fleet: what the config and the feed store name, built into connectors with their state.

    SourceSpec    a member before it is built: connector type, name, options, checkpoint key, and
                  the partition key that decides which connectors worker polls it (its host name)
    Source        a built member: its connector (state in its checkpoint) and the runtime's own
                  schedule document beside it (`<key>.schedule`: next due, failures, last error)
    LocalSources  the embedded fleet: every member, states on disk, the feed store watched for changes

A `{type: feeds}` block expands into one member per feed (its `urls` and the store's feeds of
that fleet), each an ordinary connector (`rss` by default) with its own checkpoint. The
distributed fleet (pipeline.runtime.ownership) builds the same members from the same specs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.checkpoint import Checkpoint, CheckpointFiles, CheckpointStore, checkpoint_key
from pipeline.errors import ConfigError, NewswireError
from pipeline.feeds.status import FeedRow, feed_row
from pipeline.feeds.store import FLEET_TYPE, FeedFile, FeedSpec, FleetOptions
from pipeline.plugin.connector import Connector, ConnectorContext
from pipeline.plugin.http import host_of
from pipeline.plugin.registry import build_connector, connector_class
from pipeline.runtime.loop import failure_reason
from pipeline.settings import Settings

__all__ = [
    "SourceSpec", "Source", "Added", "Retired", "SCHEDULE_SUFFIX",
    "fleet_blocks", "static_specs", "member_spec", "open_source", "open_configured", "open_members",
    "LocalSources", "StaticSources", "feed_store", "fleet_status",
]

logger = logging.getLogger(__name__)

SCHEDULE_SUFFIX = ".schedule"
STORE_LOOK_SECONDS = 1.0


@dataclass(frozen=True)
class SourceSpec:
    """A member of the fleet before it is built."""

    key: str
    type: str
    name: str
    options: Mapping[str, Any]
    partition_key: str
    fleet: str | None = None


@dataclass(eq=False)
class Source:
    """A member of the fleet: its connector, the schedule document the runtime keeps for it, and run-time bookkeeping."""

    key: str
    connector: Connector
    schedule: Checkpoint
    partition_key: str
    fleet: str | None = None
    due: float = 0.0
    running: bool = False
    retired: bool = False
    reads: int = 0
    read_id: int = 0
    abandoned: int = -1
    slot: str = ""

    @property
    def host(self) -> str:
        """The politeness unit: the host name it reads from, or a host of its own when it reads none."""
        return self.connector.host or f"~{self.key}"


@dataclass
class Added:
    sources: list[Source]


@dataclass
class Retired:
    """Stop polling these members; `done` is set once none of them is being read any more."""

    keys: set[str]
    done: threading.Event = field(default_factory=threading.Event)


def _partition_key(options: Mapping[str, Any], key: str) -> str:
    url = options.get("url")
    return (host_of(url) if isinstance(url, str) else "") or key


def fleet_blocks(settings: Settings) -> dict[str, FleetOptions]:
    """The config's `{type: feeds}` blocks by name, their shared options checked against their connector."""
    fleets = {}
    for block in settings.connectors:
        if block.type != FLEET_TYPE:
            continue
        try:
            options = FleetOptions.model_validate(block.options())
            cls = connector_class(options.connector)
            cls.Options.model_validate({**options.defaults, "url": "http://fleet.invalid/"})
        except ConfigError:
            raise
        except ValueError as e:  # pydantic's ValidationError
            raise ConfigError(f"connector '{block.name}' (feeds): {' '.join(str(e).split())[:300]}") from None
        fleets[block.name] = options
    return fleets


def member_spec(feed: FeedSpec, fleets: Mapping[str, FleetOptions]) -> SourceSpec:
    """The member a feed of a fleet becomes: the fleet's connector with the fleet's options and the feed's own."""
    fleet = fleets.get(feed.fleet) or FleetOptions()
    options = {**fleet.defaults, **feed.options, "url": feed.url}
    return SourceSpec(checkpoint_key(fleet.connector, feed.key), fleet.connector, feed.key, options,
                      host_of(feed.url) or feed.key, feed.fleet)


def static_specs(settings: Settings) -> list[SourceSpec]:
    """Every member the config names itself: its connectors, and the `urls` of its fleets."""
    names = [block.name for block in settings.connectors]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ConfigError(f"connector names must be unique; repeated: {', '.join(sorted(duplicates))}")
    fleets = fleet_blocks(settings)
    specs = []
    for block in settings.connectors:
        if block.type == FLEET_TYPE:
            specs += [member_spec(feed, fleets) for feed in fleets[block.name].listed(block.name)]
        else:
            key = checkpoint_key(block.type, block.name)
            specs.append(SourceSpec(key, block.type, block.name, block.options(), _partition_key(block.options(), key)))
    return specs


def open_source(spec: SourceSpec, settings: Settings, store: CheckpointStore,
                schedules: CheckpointStore | None = None) -> Source:
    """Build and set up a member on its checkpoint and schedule documents (`schedules`: where those go,
    default `store`); ConfigError for bad options."""
    context = ConnectorContext(data_dir=settings.data_dir, limits=settings.limits, checkpoint=Checkpoint(store, spec.key))
    connector = build_connector(spec.type, spec.name, dict(spec.options), context)
    try:
        connector.setup()
    except NewswireError:
        raise
    except Exception as e:  # a plugin's setup that fails unexpectedly: its config cannot work as given
        raise ConfigError(f"connector '{spec.name}' ({spec.type}) cannot start: {failure_reason(connector, e)}") from None
    schedule = Checkpoint(schedules or store, spec.key + SCHEDULE_SUFFIX)
    return Source(spec.key, connector, schedule, spec.partition_key, spec.fleet)


def open_configured(settings: Settings, store: CheckpointStore | None = None,
                    schedules: CheckpointStore | None = None) -> list[Source]:
    """Build and set up every member the config names; a bad block is a ConfigError naming it."""
    store = store or CheckpointFiles(settings.data_dir)
    return [open_source(spec, settings, store, schedules) for spec in static_specs(settings)]


def open_members(specs: Iterable[SourceSpec], settings: Settings, store: CheckpointStore,
                 schedules: CheckpointStore | None = None) -> list[Source]:
    """Build the feed store's members; one that cannot be built is logged and left out, the others run."""
    sources = []
    for spec in specs:
        try:
            sources.append(open_source(spec, settings, store, schedules))
        except NewswireError as e:
            logger.error("feed left out name=%s error=%s", spec.name, e)
    return sources


class StaticSources:
    """A fixed list of built members (tests, and `run_connectors`)."""

    def __init__(self, sources: list[Source]) -> None:
        self._pending: list[Source] | None = sources

    def poll(self) -> list[Added | Retired]:
        pending, self._pending = self._pending, None
        return [Added(pending)] if pending else []

    def ready(self) -> bool:
        return self._pending is None

    def close(self) -> None:
        """Nothing to release."""


class LocalSources:
    """The embedded fleet: the config's members and the feed store's, checkpoints under data_dir, the store watched."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = CheckpointFiles(settings.data_dir)
        self.schedules = CheckpointFiles(settings.data_dir, durable=False)
        self.feed_file = FeedFile(settings.data_dir)
        self.fleets = fleet_blocks(settings)
        self._static = static_specs(settings)
        self._members: dict[str, SourceSpec] = {}
        self._stamp: object = "never"
        self._next_look = 0.0
        self._started = False

    def poll(self) -> list[Added | Retired]:
        events: list[Added | Retired] = []
        if not self._started:
            self._started = True
            events.append(Added(open_configured(self.settings, self.store, self.schedules)))
        if time.monotonic() >= self._next_look:
            self._next_look = time.monotonic() + STORE_LOOK_SECONDS
            events += self._store_changes()
        return events

    def _store_changes(self) -> list[Added | Retired]:
        stamp = self.feed_file.stamp()
        if stamp == self._stamp:
            return []
        self._stamp = stamp
        taken = {spec.key for spec in self._static}
        members = {spec.key: spec for spec in (member_spec(feed, self.fleets) for feed in self.feed_file.load().values())
                   if spec.key not in taken}
        gone = set(self._members) - set(members)
        new = [spec for key, spec in members.items() if key not in self._members]
        self._members = members
        events: list[Added | Retired] = []
        if gone:
            logger.info("feeds removed count=%d", len(gone))
            events.append(Retired(gone))
        if new:
            logger.info("feeds added count=%d", len(new))
            events.append(Added(open_members(new, self.settings, self.store, self.schedules)))
        return events

    def ready(self) -> bool:
        return self._started

    def close(self) -> None:
        """Nothing to release: states are files."""


def feed_store(settings: Settings):
    """The feed store `newswire feeds add|remove|import` change: the feed list topic with Kafka, else the file."""
    if settings.distributed:
        from pipeline.runtime.feedtopics import KafkaFeeds

        return KafkaFeeds(settings)
    return FeedFile(settings.data_dir)


def fleet_status(settings: Settings, now: float | None = None) -> list[FeedRow]:
    """One row per member of the fleet (the config's and the feed store's), from the schedules kept for them."""
    now = time.time() if now is None else now
    fleets = fleet_blocks(settings)
    specs = static_specs(settings)
    taken = {spec.key for spec in specs}
    specs += [spec for spec in (member_spec(feed, fleets) for feed in feed_store(settings).load().values())
              if spec.key not in taken]
    if settings.distributed:
        from pipeline.runtime.feedtopics import read_states

        states = read_states(settings)
        schedule_of = lambda key: states.get(key + SCHEDULE_SUFFIX, {})  # noqa: E731
    else:
        files = CheckpointFiles(settings.data_dir)
        schedule_of = lambda key: files.load(key + SCHEDULE_SUFFIX)  # noqa: E731
    rows = []
    for spec in specs:
        where = spec.options.get("url") or spec.options.get("path") or ""
        rows.append(feed_row(spec.name, str(where), spec.fleet, schedule_of(spec.key), now))
    return sorted(rows, key=lambda row: (row.fleet or "", row.name))

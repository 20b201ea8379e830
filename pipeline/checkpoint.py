"""Checkpoints that travel with records: what a connector yields, and the state it commits once delivered.

A connector keeps a small JSON state (validators, seen ids, file hashes) as key → value.
It never writes that state itself: every `Record` it yields carries the change that
delivering it makes true (`{"seen": {id: date}}`), as Kafka Connect's SourceRecord carries
its source offset. The runtime applies the changes of a batch, in order, only after the
batch's output is safe (produced and acknowledged, or indexed). A crash before that
re-reads the batch: at-least-once, made effectively-once by the stable article ids.

A change is a JSON merge patch (RFC 7386, applied by the `json-merge-patch` library):
members are set, nested objects merge, `None` deletes. Changes are plain data, so a
store only has to keep each connector's state document; `CheckpointFiles` keeps one
JSON file per connector under data_dir, and a store on another medium (a compacted
Kafka topic) implements the same two methods.

    connector.read() ──Record(article, {"seen": {id: date}})──▶ runtime ──output safe──▶ Checkpoint.commit(changes)
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import json_merge_patch

from pipeline.article import Article
from pipeline.deadletter import DeadLetter
from pipeline.errors import StorageError

__all__ = ["Record", "Checkpoint", "CheckpointStore", "CheckpointFiles", "checkpoint_key"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """What a connector yields: an Article or a DeadLetter (or neither), and the checkpoint change it carries.

    `Record(article, {"seen": {article.id: date}})` · `Record(letter, {path: marker})` ·
    `Record(checkpoint={"etag": etag})` for a change that rides on no article (a feed's
    validators, once all its entries were yielded).
    """

    value: Article | DeadLetter | None = None
    checkpoint: Mapping[str, Any] = field(default_factory=dict)


def checkpoint_key(connector_type: str, name: str) -> str:
    """The store key of one connector's state: `<type>-<name>`, safe as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{connector_type}-{name}")


class CheckpointStore(Protocol):
    """Where connector states live between runs: a whole state document per key."""

    def load(self, key: str) -> dict[str, Any]: ...

    def save(self, key: str, state: Mapping[str, Any]) -> None: ...


class CheckpointFiles:
    """One JSON file per connector: `data_dir/checkpoints/<type>-<name>.json`, replaced atomically.

    `durable=False` skips the fsync: for documents whose loss costs a little extra work only (a
    feed's schedule: polled early after a crash), not a repeat or a gap.
    """

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.folder = Path(data_dir) / "checkpoints"
        self.durable = durable

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> dict[str, Any]:
        path = self.path(key)
        if not path.exists():
            return {}
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as e:
            # A torn or foreign file: start over; the stable ids keep the index free of doubles.
            logger.warning("checkpoint unreadable, starting over path=%s error=%s", path, e)
            return {}
        return state if isinstance(state, dict) else {}

    def save(self, key: str, state: Mapping[str, Any]) -> None:
        """Replace the state atomically; StorageError (nothing changed) when the disk refuses."""
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        except OSError as e:
            raise StorageError(f"cannot write checkpoint {path}: {e.strerror or e}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle, ensure_ascii=False, sort_keys=True)
                if self.durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(f"cannot write checkpoint {path}: {e.strerror or e}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class Checkpoint:
    """One connector's committed state: read by the connector (`view`), changed only by the runtime (`commit`).

    Without a store it lives as long as the process (`newswire fetch`).
    """

    def __init__(self, store: CheckpointStore | None = None, key: str = "") -> None:
        self._store = store
        self.key = key
        self._state: dict[str, Any] = store.load(key) if store is not None else {}
        self.view: Mapping[str, Any] = MappingProxyType(self._state)

    def commit(self, changes: Iterable[Mapping[str, Any]]) -> None:
        """Apply delivered records' changes in order, then persist the state once."""
        changed = False
        for change in changes:
            if change:
                json_merge_patch.merge(self._state, dict(change))
                changed = True
        if changed and self._store is not None:
            self._store.save(self.key, self._state)

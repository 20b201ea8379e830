"""A connector's checkpoint: what it has already handed on, persisted atomically under data_dir.

Changes are staged while a connector reads and written only by `commit()`, which the
runtime calls after the articles read so far are safe downstream (produced and
acknowledged, or indexed). A crash before that re-reads them: at-least-once, made
effectively-once by the stable article ids.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "MemoryCheckpoint"]


class MemoryCheckpoint:
    """A checkpoint that lives only as long as the process (for `newswire fetch`)."""

    def __init__(self) -> None:
        self._committed: dict[str, Any] = {}
        self._staged: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._staged:
            return self._staged[key]
        return self._committed.get(key, default)

    def stage(self, key: str, value: Any) -> None:
        """Record a change that becomes durable at the next `commit()`."""
        self._staged[key] = value

    def discard(self) -> None:
        """Forget staged changes (the output they describe was not delivered)."""
        self._staged.clear()

    def commit(self) -> None:
        self._committed.update(self._staged)
        self._staged.clear()
        self._persist()

    def keys(self) -> list[str]:
        return sorted(set(self._committed) | set(self._staged))

    def _persist(self) -> None:
        """Memory checkpoints keep nothing."""


class Checkpoint(MemoryCheckpoint):
    """A JSON file per connector: `data_dir/checkpoints/<type>-<name>.json`."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        if path.exists():
            try:
                self._committed = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                # A torn or foreign file: start over; the stable ids keep the index free of doubles.
                self._committed = {}

    @classmethod
    def for_connector(cls, data_dir: Path, connector_type: str, name: str) -> "Checkpoint":
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{connector_type}-{name}")
        return cls(Path(data_dir) / "checkpoints" / f"{safe}.json")

    def _persist(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._committed, handle, ensure_ascii=False, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

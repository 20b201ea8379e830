"""Dead letters: records a stage could not process, kept with the reason and the original bytes.

Bad records are data, not crashes: every stage returns its good results and its
failures; the runtime sends failures to the dead-letter topic (or, embedded, to
`data_dir/deadletter.jsonl`) and moves on.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["DeadLetter", "DeadLetterFile", "Stage"]

Stage = Literal["connector", "decode", "enrich", "sink", "fetch"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class DeadLetter(BaseModel):
    """One failed record: what failed, why, and the payload exactly as it arrived."""

    stage: Stage
    reason: str
    payload: str = ""
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    article_id: str | None = None
    source: dict[str, Any] = Field(default_factory=dict)
    failed_at: datetime = Field(default_factory=_now)

    @classmethod
    def of(
        cls,
        stage: Stage,
        reason: str,
        payload: bytes | str | None = None,
        *,
        article_id: str | None = None,
        **source: Any,
    ) -> "DeadLetter":
        """Build a dead letter; bytes that are not UTF-8 are kept base64-encoded."""
        text, encoding = "", "utf-8"
        if isinstance(payload, bytes):
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
        elif payload is not None:
            text = payload
        return cls(
            stage=stage,
            reason=reason,
            payload=text,
            payload_encoding=encoding,
            article_id=article_id,
            source={k: v for k, v in source.items() if v is not None},
        )

    def payload_bytes(self) -> bytes:
        """The original payload as bytes, as it arrived."""
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode("utf-8")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


class DeadLetterFile:
    """The embedded mode's dead-letter store: one JSON line per record in `data_dir/deadletter.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, letters: Iterable[DeadLetter]) -> int:
        lines = [letter.to_json() + "\n" for letter in letters]
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.writelines(lines)
                handle.flush()
                os.fsync(handle.fileno())
        return len(lines)

    def read(self) -> list[DeadLetter]:
        if not self.path.exists():
            return []
        letters = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    letters.append(DeadLetter.model_validate_json(line))
                except ValueError:
                    continue  # a torn last line after a crash
        return letters

    def replace(self, letters: Iterable[DeadLetter]) -> None:
        """Rewrite the store with `letters` (what is still dead after a replay)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(letter.to_json() + "\n" for letter in letters), encoding="utf-8")
        os.replace(tmp, self.path)

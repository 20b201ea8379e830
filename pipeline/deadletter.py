"""Dead letters: records a stage could not process, kept with the reason and the original bytes.

Bad records are data, not crashes: every stage returns its good results and its
failures; the runtime sends failures to the dead-letter topic (or, embedded, to
`data_dir/deadletter.jsonl`, see pipeline.runtime.deadletters) and moves on.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["DeadLetter", "Stage"]

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
        """Build a dead letter; bytes that are not UTF-8 are kept base64-encoded.

        Text that cannot be written as UTF-8 (a lone surrogate from a `\\ud800` escape) is kept
        as its surrogate-passing bytes, base64-encoded, so the letter itself can always be stored.
        """
        text, encoding = "", "utf-8"
        if isinstance(payload, str):
            try:
                payload.encode("utf-8")
            except UnicodeEncodeError:
                payload = payload.encode("utf-8", "surrogatepass")
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

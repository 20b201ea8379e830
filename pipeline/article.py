"""The Article and EnrichedArticle records, validated at every boundary.

One JSON object per article, UTF-8. The `id` is stable (feed GUID, canonical URL or
the file's path under its root): it is the Kafka key and the Elasticsearch `_id`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import InvalidArticle

__all__ = [
    "SCHEMA_VERSION",
    "MAX_ID_BYTES",
    "fit_id",
    "Source",
    "Article",
    "Entity",
    "Quote",
    "SPEAKER_LABELS",
    "EnrichedArticle",
    "parse_article",
    "parse_enriched",
    "describe_validation_error",
]

SCHEMA_VERSION = 1
MAX_ID_BYTES = 512  # Elasticsearch's limit on `_id`


def fit_id(candidate: str) -> str:
    """`candidate` if it fits as an id; else its start plus a hash of the whole, so it stays stable and unique."""
    if len(candidate.encode("utf-8")) <= MAX_ID_BYTES:
        return candidate
    digest = hashlib.sha256(candidate.encode("utf-8")).hexdigest()
    head = candidate.encode("utf-8")[: MAX_ID_BYTES - 80].decode("utf-8", "ignore")
    return f"{head}#sha256:{digest}"


class Source(BaseModel):
    """Where an article came from: the connector type, its configured name, and the feed or path."""

    model_config = ConfigDict(extra="ignore")

    connector: str | None = None
    name: str | None = None
    feed: str | None = None


class Article(BaseModel):
    """A news article as a connector emits it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    id: str = Field(min_length=1)
    title: str
    body: str
    url: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime | None = None
    language: str | None = None
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    source: Source | None = None
    schema_version: Literal[1] = SCHEMA_VERSION

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        if len(value.encode("utf-8")) > MAX_ID_BYTES:
            raise ValueError(f"longer than {MAX_ID_BYTES} bytes")
        return value

    @field_validator("published_at", "fetched_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    def to_json(self) -> str:
        """One compact JSON line, optional fields left out when empty."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def version(self) -> int:
        """A number that grows with each fetch of the same article (ms since epoch of `fetched_at`).

        Elasticsearch keeps the document with the highest version, so replaying an older
        record never overwrites a newer one.
        """
        moment = self.fetched_at or self.published_at
        return int(moment.timestamp() * 1000) if moment else 0


class Entity(BaseModel):
    """One real-world entity of an article, with its canonical name."""

    model_config = ConfigDict(extra="forbid")

    name: str
    label: str
    mentions: int = Field(ge=1)
    aliases: list[str] = Field(default_factory=list)


SPEAKER_LABELS = ("PERSON", "ORG", "GPE", "LOC", "FAC")


class Quote(BaseModel):
    """A quotation; `start`/`end` are character offsets of `text` in the body.

    `kind` is "direct" (the words between quote marks) or "indirect" (reported speech: the
    clause after the cue, without "that" and the final period); `cue` is the reporting verb or
    phrase ("said", "according to") or None; `attribution` names the sieve that found the
    speaker. `speaker_label` is the speaker entity's label: a person, an organisation, or a
    place speaking for its government ("Israel said").
    """

    model_config = ConfigDict(extra="forbid")

    text: str
    speaker: str | None = None
    speaker_label: Literal["PERSON", "ORG", "GPE", "LOC", "FAC"] | None = None
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    kind: Literal["direct", "indirect"] = "direct"
    cue: str | None = None
    attribution: str | None = None


class EnrichedArticle(Article):
    """An Article plus its entities, quotes and flat keyword lists for aggregation."""

    entities: list[Entity] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    organizations: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    speakers: list[str] = Field(default_factory=list)


def describe_validation_error(error: ValidationError, *, key: str = "field", limit: int = 3) -> str:
    """One line naming the offending keys, e.g. `field 'body': Field required (and 2 more)`.

    The one formatter of pydantic errors: articles (`field`), config keys (`config key`) and
    connector options (`key`) all read the same way. An unknown key is named first (it usually
    explains a missing one: a typo), as `unknown key`.
    """
    details = sorted(error.errors(), key=lambda d: d["type"] != "extra_forbidden")
    problems = []
    for detail in details[:limit]:
        where = ".".join(str(part) for part in detail["loc"])
        message = "unknown key" if detail["type"] == "extra_forbidden" else detail["msg"]
        problems.append(f"{key} '{where}': {message}" if where else message)
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def _parse(model: type[Article], raw: str | bytes | dict[str, Any]) -> Any:
    if isinstance(raw, dict):
        data: Any = raw
    else:
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InvalidArticle(f"not UTF-8 text (byte {e.start})") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InvalidArticle(f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    if not isinstance(data, dict):
        raise InvalidArticle(f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InvalidArticle(describe_validation_error(e)) from None


def parse_article(raw: str | bytes | dict[str, Any]) -> Article:
    """Validate one Article from JSON text, bytes or a dict; raise InvalidArticle with the reason."""
    return _parse(Article, raw)


def parse_enriched(raw: str | bytes | dict[str, Any]) -> EnrichedArticle:
    """Validate one EnrichedArticle; raise InvalidArticle with the reason."""
    return _parse(EnrichedArticle, raw)

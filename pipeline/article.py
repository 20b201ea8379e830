"""The Article and EnrichedArticle records, validated at every boundary.

One JSON object per article, UTF-8. The `id` is stable (the canonical link, a feed GUID only
without a link, or the file's path under its root): it is the Kafka key and the
Elasticsearch `_id`.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import InvalidArticle

__all__ = [
    "SCHEMA_VERSION",
    "MAX_ID_BYTES",
    "MAX_TITLE_CHARS",
    "MAX_FIELD_CHARS",
    "MAX_URL_CHARS",
    "CLOCK_SKEW",
    "fit_id",
    "clean_line",
    "clean_text",
    "web_url",
    "Source",
    "Article",
    "Entity",
    "Quote",
    "SPEAKER_LABELS",
    "EnrichedArticle",
    "load_json",
    "parse_article",
    "parse_enriched",
    "describe_validation_error",
]

SCHEMA_VERSION = 1
MAX_ID_BYTES = 512  # Elasticsearch's limit on `_id`
MAX_TITLE_CHARS = 1000  # a headline, not a body: longer ones are cut
MAX_FIELD_CHARS = 500  # an author, a category, a source name or feed
MAX_LIST_ITEMS = 100  # authors, categories
MAX_URL_CHARS = 4096
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of our clock a time-derived version may be

# C0 and C1 control characters (DEL included): never stored. A body keeps its line breaks and tabs.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _now() -> datetime:
    """Our clock (one seam, so tests can move it)."""
    return datetime.now(timezone.utc)


def clean_text(value: str) -> str:
    """Text as stored: line breaks normalised to `\\n`, NUL and every other control character removed."""
    return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def clean_line(value: str, limit: int = MAX_FIELD_CHARS) -> str:
    """A one-line field as stored: control characters (line breaks too) become one space, cut at `limit` characters."""
    line = _LINE_CONTROLS.sub(" ", value.replace("\x00", "")).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def web_url(value: str | None) -> str | None:
    """`value` if it is an absolute http(s) URL with a host (and a valid port), of a sane length; else None."""
    if not value:
        return None
    url = value.strip()
    if len(url) > MAX_URL_CHARS or _LINE_CONTROLS.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError when out of range)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


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

    @field_validator("connector", "name", "feed")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return clean_line(value, MAX_URL_CHARS) if value is not None else None

    @property
    def key(self) -> tuple[str | None, str | None]:
        """Which configured source this is: (connector type, name). A moved feed URL is the same source."""
        return (self.connector, self.name)


class Article(BaseModel):
    """A news article as a connector emits it."""

    # Assignments are validated too: a connector that sets `article.body = page.text` gets it cleaned.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, validate_assignment=True)

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
    sources: list[Source] = Field(default_factory=list)
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

    @field_validator("fetched_at")
    @classmethod
    def _not_fetched_in_the_future(cls, value: datetime | None) -> datetime | None:
        """Nobody fetched an article tomorrow: a later `fetched_at` is our clock (plus the skew)."""
        latest = _now() + CLOCK_SKEW
        return latest if value is not None and value > latest else value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return clean_line(value, MAX_TITLE_CHARS)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return clean_text(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return clean_line(value, 64) or None if value is not None else None

    @field_validator("authors", "categories")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        cleaned = (clean_line(value) for value in values)
        return [value for value in cleaned if value][:MAX_LIST_ITEMS]

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        """Only an http(s) link is kept as the article's `url` (a `javascript:` or `file:` one is dropped)."""
        return web_url(value)

    @property
    def empty(self) -> bool:
        """No title and no body: nothing to index (a feed entry recovered from a broken document)."""
        return not self.title.strip() and not self.body.strip()

    def to_json(self) -> str:
        """One compact JSON line, optional fields left out when empty."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def version(self) -> int:
        """A number that grows with each fetch of the same article (ms since epoch of `fetched_at`).

        Elasticsearch keeps the document with the highest version, so replaying an older
        record never overwrites a newer one. The time is never later than now plus
        `CLOCK_SKEW`: a far-future date claimed by a source cannot pin its copy in place.
        """
        moment = self.fetched_at or self.published_at
        if moment is None:
            return 0
        return int(min(moment, _now() + CLOCK_SKEW).timestamp() * 1000)


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
    """An Article plus its entities, quotes and flat keyword lists for aggregation, and its story.

    `story_id` is the id of the first copy seen of the story the article belongs to (its own id
    when it is the first): the index sets it when the article is written, from the copies
    already indexed (docs/story-identity.md). `copies`, kept by the index on the first copy only,
    is how many articles the story has. `sources` is every source the article came through,
    `source` the first: both are kept by the index too.
    """

    story_id: str | None = None
    copies: int | None = Field(default=None, ge=1)
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


def load_json(text: str | bytes, error: type[Exception] = InvalidArticle) -> Any:
    """`json.loads`, with every way it can fail as one line in `error` (nesting and huge numbers included)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise error("not valid JSON: nested too deeply") from None
    except ValueError as e:  # an integer of thousands of digits
        raise error(f"not valid JSON: {str(e).split(':')[0]}") from None


def _parse(model: type[Article], raw: str | bytes | dict[str, Any]) -> Any:
    if isinstance(raw, dict):
        data: Any = raw
    else:
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InvalidArticle(f"not UTF-8 text (byte {e.start})") from None
        data = load_json(raw)
    if not isinstance(data, dict):
        raise InvalidArticle(f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InvalidArticle(describe_validation_error(e)) from None
    except RecursionError:
        raise InvalidArticle("nested too deeply") from None


def parse_article(raw: str | bytes | dict[str, Any]) -> Article:
    """Validate one Article from JSON text, bytes or a dict; raise InvalidArticle with the reason."""
    return _parse(Article, raw)


def parse_enriched(raw: str | bytes | dict[str, Any]) -> EnrichedArticle:
    """Validate one EnrichedArticle; raise InvalidArticle with the reason."""
    return _parse(EnrichedArticle, raw)

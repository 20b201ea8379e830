"""The one exception tree of newswire.

    NewswireError                 base; `retriable` says whether trying again may help
    ├── ConfigError               bad or unknown configuration key, wrong type
    ├── InvalidArticle            a record that is not a valid Article / EnrichedArticle
    ├── SourceError               a connector could not read its source
    │   ├── SourceUnreachable     timeout, refused connection, 5xx (retriable)
    │   │   └── Throttled         429 / 503: the host asked us to wait `retry_after` seconds
    │   └── SourceRejected        the source is not usable as given (404, not a feed, binary file)
    ├── ModelError                the spaCy pipeline is missing or cannot be loaded
    ├── DataDirInUse              another newswire process works on this data_dir (it holds the lock)
    └── ServiceError              Kafka or Elasticsearch failed
        └── ServiceUnavailable    cannot reach the service right now (retriable)
            └── StorageError      data_dir cannot be written now (disk full, file size limit, read-only)

Every error's message is one line meant for the user; the CLI prints it as is. `visible` makes
outside text (a URL, a server's reason phrase) safe inside such a line: control characters,
newlines and terminal escapes become `\\xNN`.
`backoff_delay` is the one formula for how long to wait before trying a retriable thing again
(a feed that failed, a bulk request, a batch Kafka did not acknowledge).
"""

from __future__ import annotations

import random
import re

__all__ = [
    "backoff_delay",
    "visible",
    "NewswireError",
    "ConfigError",
    "InvalidArticle",
    "SourceError",
    "SourceUnreachable",
    "Throttled",
    "SourceRejected",
    "ModelError",
    "ServiceError",
    "ServiceUnavailable",
    "StorageError",
    "DataDirInUse",
]


class NewswireError(Exception):
    """Base of every error newswire raises on purpose."""

    retriable: bool = False


class ConfigError(NewswireError):
    """The configuration file or a NEWSWIRE_ environment variable is wrong."""


class InvalidArticle(NewswireError):
    """A record that does not validate as an Article (or EnrichedArticle)."""


class SourceError(NewswireError):
    """A connector could not read its source."""


class SourceUnreachable(SourceError):
    """The source did not answer in time or answered with a server error."""

    retriable = True


class Throttled(SourceUnreachable):
    """The host answered 429 or 503 (or asked earlier to be left alone): try again in `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceRejected(SourceError):
    """The source answered, but what it gave cannot be used."""


class ModelError(NewswireError):
    """The spaCy pipeline named in the configuration cannot be loaded."""


class ServiceError(NewswireError):
    """Kafka or Elasticsearch refused or failed a request."""


class ServiceUnavailable(ServiceError):
    """Kafka or Elasticsearch cannot be reached right now."""

    retriable = True


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` with every control character (newline, ESC, BEL, C1) written as `\\xNN`: one harmless line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class StorageError(ServiceUnavailable):
    """Writing under data_dir failed (full disk, file size limit, read-only): the output is not safe, nothing is committed."""


class DataDirInUse(NewswireError):
    """Another newswire process holds the lock on this data_dir; the message says who."""


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after `failures` failures in a row: base·2^(failures-1), capped, then spread by up to +25%.

    The jitter keeps many clients that failed together from retrying together.
    """
    if failures <= 0:
        return base
    delay = min(cap, base * 2 ** min(failures - 1, 30))
    return delay * (1.0 + 0.25 * (rng or random).random())
